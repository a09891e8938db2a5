#ifndef BERTH_KNOWNFOLDER_H
#define BERTH_KNOWNFOLDER_H

typedef enum {
    BERTH_FOLDER_PROGRAM_FILES_X64,
    BERTH_FOLDER_PROGRAM_FILES,
    BERTH_FOLDER_PROGRAM_DATA,
    BERTH_FOLDER_LOCAL_APP_DATA,
    BERTH_FOLDER_PROFILE,
    BERTH_FOLDER_WINDOWS
} berth_win_folder_t;

/* The folder's path in UTF-8 (free() it), or NULL. */
char *berth_win_known_folder(berth_win_folder_t which);

#endif
