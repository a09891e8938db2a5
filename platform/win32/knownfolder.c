/* Known folders, in a file of their own: shlobj.h needs the full windows.h,
 * which APR's headers trim (WIN32_LEAN_AND_MEAN and friends). */
#include <windows.h>
#include <knownfolders.h>
#include <shlobj.h>
#include <stdlib.h>

#include "knownfolder.h"

char *berth_win_known_folder(berth_win_folder_t which)
{
    const KNOWNFOLDERID *ids[] = { &FOLDERID_ProgramFilesX64,
                                   &FOLDERID_ProgramFiles,
                                   &FOLDERID_ProgramData,
                                   &FOLDERID_LocalAppData, &FOLDERID_Profile,
                                   &FOLDERID_Windows };
    PWSTR w = NULL;
    char *out = NULL;
    if ((unsigned)which >= sizeof ids / sizeof ids[0])
        return NULL;
    if (SHGetKnownFolderPath(ids[which], 0, NULL, &w) == S_OK && w) {
        int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
        if (n > 0 && (out = malloc((size_t)n)) != NULL)
            WideCharToMultiByte(CP_UTF8, 0, w, -1, out, n, NULL, NULL);
    }
    if (w)
        CoTaskMemFree(w);
    return out;
}
