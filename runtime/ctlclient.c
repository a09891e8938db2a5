#include "ctlclient.h"

#include <stdlib.h>
#include <string.h>

#include <apr_network_io.h>
#include <apr_strings.h>

apr_status_t berth_control_call(const char *host, unsigned port,
                                const char *method, const char *path,
                                const char *token, apr_interval_time_t timeout,
                                int *status, json_t **body,
                                const char **error, apr_pool_t *pool)
{
    apr_sockaddr_t *sa;
    apr_socket_t *sock;
    char errbuf[128];
    const char *h = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    *status = 0;
    *body = NULL;
    apr_status_t rv = apr_sockaddr_info_get(&sa, h, APR_UNSPEC,
                                            (apr_port_t)port, 0, pool);
    if (rv == APR_SUCCESS)
        rv = apr_socket_create(&sock, sa->family, SOCK_STREAM, APR_PROTO_TCP,
                               pool);
    if (rv != APR_SUCCESS) {
        *error = apr_psprintf(pool, "%s: %s", host,
                              apr_strerror(rv, errbuf, sizeof errbuf));
        return rv;
    }
    apr_socket_timeout_set(sock, timeout);
    rv = apr_socket_connect(sock, sa);
    if (rv != APR_SUCCESS) {
        *error = apr_psprintf(pool, "nothing answers at %s:%u (%s)", host,
                              port, apr_strerror(rv, errbuf, sizeof errbuf));
        apr_socket_close(sock);
        return rv;
    }
    const char *req = apr_psprintf(
        pool, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer "
        "%s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method, path,
        port, token ? token : "");
    apr_size_t len = strlen(req);
    rv = apr_socket_send(sock, req, &len);
    /* the whole answer: a small JSON document, then the server closes */
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (rv == APR_SUCCESS && buf) {
        apr_size_t got = cap - n;
        if (got == 0) {
            char *b = realloc(buf, cap * 2 + 1);
            if (!b)
                break;
            buf = b;
            cap *= 2;
            got = cap - n;
        }
        rv = apr_socket_recv(sock, buf + n, &got);
        n += got;
    }
    apr_socket_close(sock);
    if (!buf) {
        *error = "out of memory";
        return APR_ENOMEM;
    }
    buf[n] = '\0';
    if (rv != APR_EOF && rv != APR_SUCCESS) {
        *error = apr_psprintf(pool, "reading the answer: %s",
                              apr_strerror(rv, errbuf, sizeof errbuf));
        free(buf);
        return rv;
    }
    if (n < 12 || strncmp(buf, "HTTP/1.", 7) != 0) {
        *error = "the answer is not HTTP";
        free(buf);
        return APR_EGENERAL;
    }
    *status = atoi(buf + 9);
    char *payload = strstr(buf, "\r\n\r\n");
    if (payload) {
        payload += 4;
        /* chunked: the JSON body is one or more chunks; join them */
        if (strstr(buf, "Transfer-Encoding: chunked") ||
            strstr(buf, "transfer-encoding: chunked")) {
            char *w = payload, *r = payload, *end = buf + n;
            for (;;) {
                long sz = strtol(r, &r, 16);
                r = strstr(r, "\r\n");
                if (!r || sz <= 0 || r + 2 + sz > end)
                    break;
                r += 2;
                memmove(w, r, (size_t)sz);
                w += sz;
                r += sz + 2;
            }
            *w = '\0';
        }
        json_error_t jerr;
        *body = json_loads(payload, 0, &jerr);
    }
    free(buf);
    return APR_SUCCESS;
}
