/* The socket functions platform/<os>/net.c gives the HTTP front, on both
 * OSes (Windows under Wine): readability of a loopback connection
 * (nothing, data, the peer's close), and the close itself. */
#include <string.h>

#include <apr_network_io.h>
#include <apr_strings.h>

#include "test_util.h"

#include "platform.h"

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
typedef int berth_socklen_t;
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
typedef socklen_t berth_socklen_t;
#endif

/* Polls FD's readability for up to two seconds until it is WANT. */
static int readable_within(apr_os_sock_t fd, int want)
{
    for (int i = 0; i < 2000; i++) {
        if (berth_platform_socket_readable(fd) == want)
            return 1;
        apr_sleep(apr_time_from_msec(1));
    }
    return 0;
}

/* A loopback connection in POOL: *CLIENT a socket made by the OS, *SERVER
 * an APR listener's accepted end and *SRV its descriptor. */
static void connected(apr_pool_t *pool, apr_os_sock_t *client,
                      apr_socket_t **server, apr_os_sock_t *srv)
{
    apr_sockaddr_t *sa, *bound;
    apr_socket_t *listener;
    assert_int_equal(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0,
                                           pool),
                     APR_SUCCESS);
    assert_int_equal(apr_socket_create(&listener, APR_INET, SOCK_STREAM,
                                       APR_PROTO_TCP, pool),
                     APR_SUCCESS);
    assert_int_equal(apr_socket_bind(listener, sa), APR_SUCCESS);
    assert_int_equal(apr_socket_listen(listener, 4), APR_SUCCESS);
    assert_int_equal(apr_socket_addr_get(&bound, APR_LOCAL, listener),
                     APR_SUCCESS);
    *client = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(*client, (const struct sockaddr *)&bound->sa,
                             (berth_socklen_t)bound->salen),
                     0);
    assert_int_equal(apr_socket_accept(server, listener, pool), APR_SUCCESS);
    assert_int_equal(apr_os_sock_get(srv, *server), APR_SUCCESS);
}

/* A loopback connection: a client socket made by the OS, an APR
 * listener's accepted end. */
static void test_readable_and_close(void **state)
{
    (void)state;
    apr_pool_t *pool;
    apr_socket_t *server;
    apr_os_sock_t client, srv;
    apr_pool_create(&pool, test_pool);
    connected(pool, &client, &server, &srv);

    /* nothing yet; then a byte; then nothing again once it is read */
    assert_int_equal(berth_platform_socket_readable(srv), 0);
    assert_int_equal(send(client, "x", 1, 0), 1);
    assert_true(readable_within(srv, 1));
    char c;
    apr_size_t n = 1;
    assert_int_equal(apr_socket_recv(server, &c, &n), APR_SUCCESS);
    assert_int_equal(c, 'x');
    assert_int_equal(berth_platform_socket_readable(srv), 0);

    /* the peer's close is readable too: the read that follows meets EOF */
    assert_int_equal(berth_platform_socket_readable(client), 0);
    berth_platform_socket_close(client);
    assert_true(readable_within(srv, 1));
    n = 1;
    assert_int_equal(apr_socket_recv(server, &c, &n), APR_EOF);
    assert_int_equal(n, 0);
    apr_pool_destroy(pool);
}

/* A shutdown, from another owner of the socket: its peer reads the end,
 * and on Unix the socket itself reads as ended too, still open, so the
 * event loop that owns it closes it at once. Windows (Wine at least) does
 * not show a socket its own shutdown: libmicrohttpd closes it there at
 * its connection timeout (docs/http.md). */
static void test_shutdown(void **state)
{
    (void)state;
    apr_pool_t *pool;
    apr_socket_t *server;
    apr_os_sock_t client, srv;
    apr_pool_create(&pool, test_pool);
    connected(pool, &client, &server, &srv);
    assert_int_equal(berth_platform_socket_readable(srv), 0);
    berth_platform_socket_shutdown(srv);
    assert_true(readable_within(client, 1));
    char c;
    assert_int_equal(recv(client, &c, 1, 0), 0);
#ifndef _WIN32
    assert_true(readable_within(srv, 1));
#endif
    berth_platform_socket_close(client);
    apr_pool_destroy(pool);
}

/* The limit is a fact the front sizes its connection limit by: raising it
 * to what it already is changes nothing. */
static void test_fd_limit(void **state)
{
    (void)state;
    unsigned long now = berth_platform_fd_limit(0);
    assert_int_equal(berth_platform_fd_limit(now), now);
    assert_true(berth_platform_fd_limit(64) >= (now && now < 64 ? now : 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readable_and_close),
        cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_fd_limit),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
