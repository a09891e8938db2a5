#include <string.h>

#include <apr_strings.h>

#include "test_util.h"

#include "config.h"
#include "errors.h"

typedef struct {
    apr_status_t rv;
    berth_config_t *cfg;
    apr_array_header_t *diags;
} parsed_t;

static parsed_t parse(const char *text)
{
    parsed_t p;
    p.diags = apr_array_make(test_pool, 4, sizeof(berth_diag_t));
    p.rv = berth_config_parse("t.json", text, strlen(text), &p.cfg, p.diags,
                              test_pool);
    return p;
}

static const char *diag(const parsed_t *p, int i)
{
    assert_true(i < p->diags->nelts);
    return berth_diag_format(&APR_ARRAY_IDX(p->diags, i, berth_diag_t),
                             test_pool);
}

static void test_suggest(void **state)
{
    (void)state;
    static const char *const keys[] = { "command", "args", "env", "cwd",
                                        "url", "headers", "type", NULL };
    struct { const char *word; const char *want; } cases[] = {
        { "arg", "args" },       { "agrs", "args" },
        { "comand", "command" }, { "Command", "command" },
        { "cmd", "command" },    { "environment", "env" },
        { "header", "headers" }, { "URL", "url" },
        { "workdir", "cwd" },    { "xyzzy", NULL },
        { "image", NULL },       /* isolation.image: not a key here */
        { "a", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = berth_config_suggest(cases[i].word, keys);
        if (!cases[i].want) {
            if (got)
                fail_msg("%s: suggested %s", cases[i].word, got);
        } else if (!got || strcmp(got, cases[i].want) != 0) {
            fail_msg("%s: suggested %s, want %s", cases[i].word,
                     got ? got : "nothing", cases[i].want);
        }
    }
    static const char *const with_isolation[] = { "command", "isolation",
                                                  NULL };
    assert_string_equal(berth_config_suggest("image", with_isolation),
                        "isolation.image");
}

static void test_normalize(void **state)
{
    (void)state;
    assert_string_equal(berth_config_normalize_name("GitHub", test_pool),
                        "github");
    assert_string_equal(berth_config_normalize_name("my server.v2", test_pool),
                        "my_server_v2");
    assert_string_equal(berth_config_normalize_name("a-b_c", test_pool),
                        "a-b_c");
    assert_string_equal(berth_config_normalize_name("caf\xc3\xa9", test_pool),
                        "caf__");
}

static void test_listen(void **state)
{
    (void)state;
    struct { const char *text; const char *host; unsigned port; int lo; }
    good[] = {
        { "127.0.0.1:8750", "127.0.0.1", 8750, 1 },
        { "0.0.0.0:1", "0.0.0.0", 1, 0 },
        { "localhost:65535", "localhost", 65535, 1 },
        { "[::1]:80", "::1", 80, 1 },
        { "[::]:80", "::", 80, 0 },
        { "[fe80::1%eth0]:9", "fe80::1%eth0", 9, 0 },
        { "[2001:db8::192.0.2.1]:9", "2001:db8::192.0.2.1", 9, 0 },
        { "192.168.1.20:8750", "192.168.1.20", 8750, 0 },
        { "127.0.0.2:8750", "127.0.0.2", 8750, 1 },
        { "127.255.255.254:1", "127.255.255.254", 1, 1 },
        { "128.0.0.1:1", "128.0.0.1", 1, 0 },
        { "LOCALHOST:1", "LOCALHOST", 1, 1 },
        { "[0:0:0:0:0:0:0:1]:1", "0:0:0:0:0:0:0:1", 1, 1 },
        { "[::ffff:127.0.0.1]:1", "::ffff:127.0.0.1", 1, 1 },
    };
    const char *bad[] = {
        "127.0.0.1", ":8750", "127.0.0.1:", "127.0.0.1:0",
        "127.0.0.1:65536", "127.0.0.1:99999999999999999999",
        "127.0.0.1:80x", "256.0.0.1:80", "1.2.3:80", "1.2.3.4.5:80",
        "01.2.3.4:80", "example.com:80", "::1:80", "[::1]80", "[::1",
        "[1:2:3:4:5:6:7:8:9]:80", "[1::2::3]:80", "[:::1]:80", "",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        const char *host;
        unsigned port;
        int lo;
        const char *why = berth_config_parse_listen(good[i].text, &host,
                                                    &port, &lo, test_pool);
        if (why)
            fail_msg("%s rejected: %s", good[i].text, why);
        assert_string_equal(host, good[i].host);
        assert_int_equal(port, good[i].port);
        assert_int_equal(lo, good[i].lo);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (!berth_config_parse_listen(bad[i], NULL, NULL, NULL, test_pool))
            fail_msg("%s accepted", bad[i]);
}

/* One definition of loopback, for the listen address and the Host check
 * alike. */
static void test_loopback_host(void **state)
{
    (void)state;
    const char *yes[] = {
        "localhost", "LocalHost", "127.0.0.1", "127.0.0.2", "127.1.2.3",
        "127.255.255.255", "::1", "0::1", "0:0:0:0:0:0:0:1", "::0:0:1",
        "0000:0000:0000:0000:0000:0000:0000:0001", "::ffff:127.0.0.1",
        "::FFFF:127.9.9.9", "::1%lo",
    };
    const char *no[] = {
        "", "localhost.", "localhost.evil.example", "127.0.0.1.evil.example",
        "evil.example", "128.0.0.1", "126.255.255.255", "0.0.0.0", "10.0.0.1",
        "0x7f.0.0.1", "127.1", "127.0.0.01", "::", "::2", "1::", "::1:0",
        "fe80::1", "::ffff:128.0.0.1", "::127.0.0.1", "[::1]", "::1::",
        "1:2:3:4:5:6:7:8:9", "0:0:0:0:0:0:0:0:1",
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!berth_config_loopback_host(yes[i], strlen(yes[i])))
            fail_msg("%s is loopback", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (berth_config_loopback_host(no[i], strlen(no[i])))
            fail_msg("%s is not loopback", no[i]);
    /* the length bounds it: "127.0.0.1" inside a longer text */
    assert_true(berth_config_loopback_host("127.0.0.1:80", 9));
    assert_false(berth_config_loopback_host("127.0.0.1:80", 12));
}

static void test_redact_url(void **state)
{
    (void)state;
    struct { const char *in, *out; } cases[] = {
        { "https://example.com/mcp", "https://example.com/mcp" },
        { "https://user:pw@example.com/mcp", "https://***@example.com/mcp" },
        { "https://h/mcp?api_key=s3cret&x=1#frag",
          "https://h/mcp?api_key=***&x=***#frag" },
        { "http://h/p?flag", "http://h/p?flag" },
        { "https://h/a@b", "https://h/a@b" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(berth_config_redact_url(cases[i].in, test_pool),
                            cases[i].out);
}

static void test_defaults_and_inheritance(void **state)
{
    (void)state;
    parsed_t p = parse("{\"timeouts\": {\"call\": 5},"
                       " \"namespace\": \"none\","
                       " \"mcpServers\": {"
                       "  \"a\": {\"command\": \"x\"},"
                       "  \"b\": {\"command\": \"y\", \"timeouts\": "
                       "{\"initialize\": 1.5}, \"namespace\": \"prefix\"},"
                       "  \"r\": {\"url\": \"https://h/mcp\", \"type\": \"sse\"}"
                       "}}");
    assert_int_equal(p.rv, APR_SUCCESS);
    /* a and r both inherit namespace none: the one possible collision */
    assert_int_equal(p.diags->nelts, 1);
    const berth_diag_t *d = &APR_ARRAY_IDX(p.diags, 0, berth_diag_t);
    assert_int_equal(d->severity, BERTH_DIAG_WARNING);
    assert_string_equal(d->path, "mcpServers.r");
    assert_non_null(strstr(d->message, "a and r both keep their tool and "
                                       "prompt names"));
    assert_string_equal(p.cfg->listen, berth_config_default_text("listen"));
    assert_int_equal(p.cfg->listen_port, 8750);
    assert_true(p.cfg->listen_loopback);
    assert_int_equal(p.cfg->servers->nelts, 3);
    const berth_server_config_t *a = berth_config_find_server(p.cfg, "a");
    const berth_server_config_t *b = berth_config_find_server(p.cfg, "b");
    const berth_server_config_t *r = berth_config_find_server(p.cfg, "R");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(r);
    assert_true(a->timeouts.call == 5.0);
    assert_true(a->timeouts.initialize ==
                berth_config_default_number("timeouts.initialize"));
    assert_true(b->timeouts.initialize == 1.5);
    assert_true(b->timeouts.shutdown ==
                berth_config_default_number("timeouts.shutdown"));
    assert_int_equal(a->ns, BERTH_NAMESPACE_NONE);
    assert_int_equal(b->ns, BERTH_NAMESPACE_PREFIX);
    assert_int_equal(r->transport, BERTH_TRANSPORT_SSE);
    assert_null(berth_config_find_server(p.cfg, "zzz"));
}

static void test_every_error_reported_in_order(void **state)
{
    (void)state;
    parsed_t p = parse("{\"mcpServers\": {\n"
                       " \"b\": {\"command\": 1},\n"
                       " \"a\": {\"args\": \"x\", \"url\": \"https://h\", "
                       "\"command\": \"c\"}\n"
                       "}, \"listen\": \"nope\"}");
    assert_int_equal(p.rv, BERTH_ECONFIG);
    assert_int_equal(berth_diag_count(p.diags, BERTH_DIAG_ERROR), 4);
    assert_string_equal(diag(&p, 0), "t.json:2:19: error: mcpServers.b."
                        "command: expected a string, found a number");
    assert_string_equal(diag(&p, 1), "t.json:3:2: error: mcpServers.a: has "
                        "both \"command\" and \"url\"; a server is either a "
                        "local command or a remote URL, keep one");
    assert_string_equal(diag(&p, 2), "t.json:3:16: error: mcpServers.a.args: "
                        "expected an array of strings, found a string");
    assert_string_equal(diag(&p, 3), "t.json:4:14: error: listen: \"nope\" is "
                        "not a listen address: missing \":PORT\" after the "
                        "address");
}

static void test_syntax_error_position(void **state)
{
    (void)state;
    parsed_t p = parse("{\n  \"a\": [1, 2\n  \"b\": 3\n}");
    assert_int_equal(p.rv, BERTH_ECONFIG);
    assert_null(p.cfg);
    assert_int_equal(p.diags->nelts, 1);
    const berth_diag_t *d = &APR_ARRAY_IDX(p.diags, 0, berth_diag_t);
    assert_int_equal(d->line, 3);
    assert_non_null(strstr(d->message, "invalid JSON"));
}

static void test_bom_and_jsonc(void **state)
{
    (void)state;
    parsed_t p = parse("\xEF\xBB\xBF{ // VS Code\n"
                       "  \"servers\": { \"x\": { \"type\": \"stdio\", "
                       "\"command\": \"npx\", }, },\n"
                       "  /* inputs */ \"inputs\": []\n}");
    assert_int_equal(p.rv, APR_SUCCESS);
    assert_string_equal(p.cfg->servers_key, "servers");
    assert_int_equal(p.diags->nelts, 1); /* "inputs": unknown top-level */
    assert_string_equal(diag(&p, 0), "t.json:3:16: warning: inputs: unknown "
                        "top-level key, ignored");

    parsed_t q = parse("\xEF\xBB\xBF{\"mcpServers\": {\"x\": {\"comand\": "
                       "\"a\"}}}");
    assert_int_equal(q.rv, BERTH_ECONFIG);
    /* The mark is not a character a user can see: columns start after it. */
    assert_string_equal(diag(&q, 1), "t.json:1:23: error: mcpServers.x.comand:"
                        " unknown key in a server entry; did you mean "
                        "\"command\"?");
}

/* Whatever goes wrong around them, configured secret values never reach a
 * message. */
static void test_secrets_never_in_messages(void **state)
{
    (void)state;
    const char *secret = "s3cr3t-VALUE-42";
    const char *templates[] = {
        "{\"mcpServers\": {\"a\": {\"command\": \"x\", \"env\": "
        "{\"TOKEN\": \"%s\", \"N\": 5}}}}",
        "{\"mcpServers\": {\"a\": {\"command\": \"x\", \"env\": "
        "{\"T=%s\": \"v\"}}}}",
        "{\"mcpServers\": {\"a\": {\"url\": \"https://h/\", \"headers\": "
        "{\"Authorization\": \"Bearer %s\\r\\n\"}}}}",
        "{\"mcpServers\": {\"a\": {\"url\": \"https://h/\", \"headers\": "
        "{\"Bad Header\": \"%s\"}}}}",
        "{\"mcpServers\": {\"a\": {\"command\": \"x\", \"env\": "
        "{\"TOKEN\": \"%s\"}, \"url\": \"https://h\"}}}",
        "{\"mcpServers\": {\"a\": {\"command\": \"x\", \"env\": "
        "{\"TOKEN\": \"%s\", \"TOKEN\": \"%s\"}}}}",
        "{\"mcpServers\": {\"a\": {\"url\": \"https://h/\", \"env\": "
        "{\"TOKEN\": \"%s\"}}}}",
        "{\"mcpServers\": {\"a\": {\"command\": \"x\", \"env\": "
        "{\"TOKEN\": \"%s\"} \"args\": []}}}",
        "{\"mcpServers\": {\"a\": {\"url\": \"ftp://u:%s@h/\"}}}",
        "{\"mcpServers\": {\"a\": {\"url\": \"https://h/\", \"headers\": "
        "{\"Authorization: Bearer %s\": 1}}}}",
        "{\"mcpServers\": {\"a\": {\"command\": \"x\", \"env\": "
        "{\"TOKEN=%s\": 7}}}}",
    };
    for (size_t i = 0; i < sizeof templates / sizeof templates[0]; i++) {
        parsed_t p = parse(apr_psprintf(test_pool, templates[i], secret,
                                        secret));
        assert_true(p.diags->nelts > 0);
        for (int k = 0; k < p.diags->nelts; k++) {
            const char *line = diag(&p, k);
            if (strstr(line, secret))
                fail_msg("case %zu leaks: %s", i, line);
        }
    }
}

/* Which configured values are secrets (docs/config.md, "Secrets"), both
 * ways: the name or the value's shape decides, not being configured. */
static void test_which_values_are_secrets(void **state)
{
    (void)state;
    parsed_t p = parse("{\"env\": {\"secrets\": [\"MY_*\", \"internal_id\"]}, "
                       "\"mcpServers\": {\"a\": {\"command\": \"x\"}}}");
    assert_int_equal(p.rv, APR_SUCCESS);
    const apr_array_header_t *names = p.cfg->env_secrets;
    struct { const char *key, *value; int secret; } rows[] = {
        /* not secrets: shown as they are */
        { "MODE", "ready", 0 },
        { "D", "/srv", 0 },
        { "LOG_LEVEL", "debug", 0 },
        { "HOME_DIR", "/home/ada/projects/some-long-folder-2024", 0 },
        { "ENDPOINT", "http://localhost:8080/api/v1", 0 },
        { "KEYBOARD", "de-latin1-nodeadkeys", 0 },
        { "GIT_AUTHOR_NAME", "Ada Lovelace", 0 },
        { "CERT_AUTHORITY", "/etc/ssl/ca.pem", 0 },
        { "PWD", "/srv/app", 0 },
        { "REGION", "my-project-production-east-1", 0 },
        { "VERSION", "node-v22.1.0-linux-x64", 0 },
        /* switches hide nothing, whatever the name */
        { "AUTH_ENABLED", "true", 0 },
        { "USE_TOKEN", "1", 0 },
        { "GITHUB_TOKEN", "no", 0 },
        { "API_KEY", "", 0 },
        /* the name says secret: at any length */
        { "GITHUB_TOKEN", "abc", 1 },
        { "OPENAI_API_KEY", "sk", 0 },
        { "OPENAI_API_KEY", "k-1", 1 },
        { "apiKey", "value", 1 },
        { "PGPASSWORD", "pw!", 1 },
        { "MYSQL_PWD", "hunter2", 1 },
        { "DB_PASS", "x9z", 1 },
        { "AWS_SECRET_ACCESS_KEY", "wJalr", 1 },
        { "CLIENT_CREDENTIALS", "c-1", 1 },
        { "BASIC_AUTH", "u:p", 1 },
        { "AUTHORIZATION", "xyz", 1 },
        { "NPM_CONFIG__AUTH", "abc", 1 },
        { "OAUTH_CLIENT", "abc", 1 },
        { "SESSION_COOKIE", "abc", 1 },
        { "GH_PAT", "abc", 1 },
        /* the user's list, any case */
        { "MY_THING", "abc", 1 },
        { "my_other", "abc", 1 },
        { "INTERNAL_ID", "abc", 1 },
        { "INTERNAL_IDS", "abc", 0 },
        /* the value looks like a token, whatever the name */
        { "X", "ghp_16charsatleast0000", 1 },
        { "X", "ghp_short", 0 },
        { "X", "AKIAIOSFODNN7EXAMPLE", 1 },
        { "X", "eyJhbGciOiJIUzI1NiJ9.e30.sig", 1 },
        { "X", "Zq9xT4mLp2Rv8Kw3Nb7Y", 1 },
        { "X", "0123456789abcdef0123456789abcdef", 1 },
        { "X", "Bearer abc123", 1 },
        { "X", "/Zq9xT4mLp2Rv8Kw3Nb7Y", 0 },
        { "X", "Zq9xT4mL p2Rv8Kw3Nb7Y", 0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int got = berth_config_secret_env(names, rows[i].key,
                                          strlen(rows[i].key), rows[i].value);
        if (got != rows[i].secret)
            fail_msg("%s=%s: %s, want %s", rows[i].key, rows[i].value,
                     got ? "secret" : "not secret",
                     rows[i].secret ? "secret" : "not secret");
    }
    /* a server's: the secret env values and every header value */
    p = parse("{\"mcpServers\": {\"a\": {\"command\": \"x\", \"env\": "
              "{\"MODE\": \"ready\", \"API_TOKEN\": \"abc\", \"D\": \"/srv\"}},"
              " \"r\": {\"url\": \"https://h/mcp\", \"headers\": "
              "{\"X-Tenant\": \"acme\", \"Authorization\": \"Bearer t0k\"}}}}");
    assert_int_equal(p.rv, APR_SUCCESS);
    apr_array_header_t *out = apr_array_make(test_pool, 4,
                                             sizeof(const char *));
    for (int i = 0; i < p.cfg->servers->nelts; i++)
        berth_config_server_secrets(
            p.cfg, APR_ARRAY_IDX(p.cfg->servers, i, berth_server_config_t *),
            out);
    assert_int_equal(out->nelts, 3);
    assert_string_equal(APR_ARRAY_IDX(out, 0, const char *), "abc");
    assert_string_equal(APR_ARRAY_IDX(out, 1, const char *), "acme");
    assert_string_equal(APR_ARRAY_IDX(out, 2, const char *), "Bearer t0k");
    /* env.secrets takes names and prefixes, as env.allow does */
    p = parse("{\"env\": {\"secrets\": [\"A=B\"]}}");
    assert_int_not_equal(p.rv, APR_SUCCESS);
    assert_non_null(strstr(diag(&p, 1), "env.secrets[0]: \"A=B\" is not a "
                                        "variable name"));
}

static void test_unreadable_file(void **state)
{
    (void)state;
    berth_config_t *cfg;
    apr_array_header_t *diags = apr_array_make(test_pool, 1,
                                               sizeof(berth_diag_t));
    apr_status_t rv = berth_config_load("/nonexistent/berth.json", &cfg,
                                        diags, test_pool);
    assert_int_equal(rv, BERTH_ECONFIG);
    assert_int_equal(diags->nelts, 1);
    const char *line = berth_diag_format(&APR_ARRAY_IDX(diags, 0,
                                                        berth_diag_t),
                                         test_pool);
    assert_non_null(strstr(line, "/nonexistent/berth.json: error: cannot read"
                                 " the config file: "));
}

/* The table is consistent: names unique, every row documented, its default
 * in its range, its storage known, a parser for the hand-written types. */
static void test_settings_table(void **state)
{
    (void)state;
    int n = 0;
    for (const berth_setting_t *r = berth_config_settings(); r->name; r++) {
        n++;
        assert_ptr_equal(berth_config_setting(r->name), r);
        assert_non_null(r->doc);
        assert_true(r->flags & (BERTH_SETTING_GLOBAL | BERTH_SETTING_SERVER));
        switch (r->type) {
        case BERTH_SETTING_INT:
        case BERTH_SETTING_COUNT:
        case BERTH_SETTING_SECONDS:
            assert_non_null(r->unit);
            if (r->def_num > r->max || r->def_num < r->min ||
                ((r->flags & BERTH_SETTING_MIN_EXCLUSIVE) &&
                 r->def_num == r->min))
                fail_msg("%s: default %g out of its range", r->name,
                         r->def_num);
            break;
        case BERTH_SETTING_WORD:
            assert_non_null(r->words);
            assert_non_null(r->noun);
            break;
        case BERTH_SETTING_LISTEN:
        case BERTH_SETTING_LIST:
        case BERTH_SETTING_MAP:
            assert_non_null(r->parse);
            break;
        default:
            break;
        }
        if (!r->def_text && !r->unset && r->type >= BERTH_SETTING_STRING)
            fail_msg("%s: neither a default nor what no value means",
                     r->name);
    }
    assert_true(n > 0 && n <= 64);
    assert_null(berth_config_setting("http.nope"));
    assert_true(berth_config_default_number("http.session_idle") == 1800);
    assert_true(berth_config_default_number("http.max_body") == 4194304);
    assert_true(berth_config_default_number("http.spin_us") == 100);
    assert_string_equal(berth_config_default_text("listen"),
                        "127.0.0.1:8750");
    assert_string_equal(
        berth_config_default_text("docker_isolation.log_max_size"), "10m");
}

/* Left out, a setting holds its default (or, AS_GIVEN, stays unset) and is
 * not given; written, it is given, at its own level only. */
static void test_given_and_effective(void **state)
{
    (void)state;
    parsed_t p = parse("{\"http\": {\"max_body\": 2048},"
                       " \"mcpServers\": {"
                       "  \"a\": {\"command\": \"x\", \"timeouts\": "
                       "{\"call\": 9}},"
                       "  \"b\": {\"command\": \"y\"}}}");
    assert_int_equal(p.rv, APR_SUCCESS);
    const berth_config_t *c = p.cfg;
    for (const berth_setting_t *r = berth_config_settings(); r->name; r++)
        if (strcmp(r->name, "http.max_body") != 0 &&
            berth_config_given(c, r->name))
            fail_msg("%s: given, but not in the file", r->name);
    assert_true(berth_config_given(c, "http.max_body"));
    assert_int_equal(c->http_max_body, 2048);
    assert_true(c->http_session_idle == 1800);
    assert_int_equal(c->http_spin_us, 100);
    assert_null(c->http_origins);
    assert_int_equal(c->env_allow_defaults, 1);
    assert_int_equal(c->isolation.mode, BERTH_ISOLATION_UNSET);
    assert_int_equal(c->isolation.enabled, -1);
    assert_null(c->log_max_size);
    assert_int_equal(c->log_max_files, 0);
    assert_string_equal(berth_config_text(c, "docker_isolation.log_max_size"),
                        "10m");
    assert_true(berth_config_number(c, "docker_isolation.log_max_files") ==
                3);
    assert_true(berth_config_number(c, "http.max_body") == 2048);
    assert_true(berth_config_number(c, "namespace") ==
                BERTH_NAMESPACE_PREFIX);

    const berth_server_config_t *a = berth_config_find_server(c, "a");
    const berth_server_config_t *b = berth_config_find_server(c, "b");
    assert_true(berth_config_server_given(a, "timeouts.call"));
    assert_false(berth_config_server_given(a, "timeouts.initialize"));
    assert_false(berth_config_server_given(b, "timeouts.call"));
    assert_false(berth_config_given(c, "timeouts.call"));
    assert_true(a->timeouts.call == 9 && b->timeouts.call == 60);
}

static const char *change_text(const apr_array_header_t *changes)
{
    const char *s = "";
    for (int i = 0; i < changes->nelts; i++) {
        const berth_config_change_t *ch =
            &APR_ARRAY_IDX(changes, i, berth_config_change_t);
        s = apr_psprintf(test_pool, "%s%s: %s -> %s\n", s, ch->setting->name,
                         ch->was, ch->now);
    }
    return s;
}

/* A reload lists what only a restart applies, with the value in force;
 * what it applies (timeouts, namespace, env, isolation) is not listed. */
static void test_restart_only_changes(void **state)
{
    (void)state;
    parsed_t run = parse("{\"mcpServers\": {\"a\": {\"command\": \"x\"}}}");
    parsed_t load = parse("{\"listen\": \"127.0.0.1:9001\","
                          " \"http\": {\"max_body\": 1048576,"
                          " \"session_idle\": 600, \"spin_us\": 0,"
                          " \"allowed_origins\": [\"https://a.example\"]},"
                          " \"namespace\": \"none\","
                          " \"timeouts\": {\"call\": 5},"
                          " \"env\": {\"allow\": [\"X\"]},"
                          " \"docker_isolation\": {\"mode\": \"docker\","
                          " \"log_max_files\": 5},"
                          " \"mcpServers\": {\"a\": {\"command\": \"x\"}}}");
    assert_int_equal(run.rv, APR_SUCCESS);
    assert_int_equal(load.rv, APR_SUCCESS);
    apr_array_header_t *ch = berth_config_restart_only_changes(
        run.cfg, load.cfg, test_pool);
    assert_string_equal(change_text(ch),
                        "listen: 127.0.0.1:8750 -> 127.0.0.1:9001\n"
                        "http.session_idle: 1800 -> 600\n"
                        "http.max_body: 4194304 -> 1048576\n"
                        "http.allowed_origins: [] -> [\"https://a.example\"]\n"
                        "http.spin_us: 100 -> 0\n"
                        "docker_isolation.log_max_files: 3 -> 5\n");
    /* the same values written out change nothing */
    parsed_t same = parse("{\"listen\": \"127.0.0.1:8750\", \"http\": "
                          "{\"max_body\": 4194304, \"spin_us\": 100}, "
                          "\"docker_isolation\": {\"log_max_size\": \"10m\"}, "
                          "\"mcpServers\": {}}");
    assert_string_equal(change_text(berth_config_restart_only_changes(
                            run.cfg, same.cfg, test_pool)),
                        "");

    /* kept: the config in force says what is in force, and the live
     * settings are the new file's */
    berth_config_keep_restart_only(load.cfg, run.cfg);
    assert_string_equal(load.cfg->listen, "127.0.0.1:8750");
    assert_int_equal(load.cfg->listen_port, 8750);
    assert_int_equal(load.cfg->http_max_body, 4194304);
    assert_int_equal(load.cfg->http_spin_us, 100);
    assert_null(load.cfg->http_origins);
    assert_int_equal(load.cfg->log_max_files, 0);
    assert_false(berth_config_given(load.cfg, "http.max_body"));
    assert_true(load.cfg->timeouts.call == 5);
    assert_int_equal(load.cfg->ns, BERTH_NAMESPACE_NONE);
    assert_int_equal(load.cfg->isolation.mode, BERTH_ISOLATION_DOCKER);
    assert_int_equal(berth_config_restart_only_changes(run.cfg, load.cfg,
                                                       test_pool)->nelts,
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suggest),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_listen),
        cmocka_unit_test(test_loopback_host),
        cmocka_unit_test(test_redact_url),
        cmocka_unit_test(test_defaults_and_inheritance),
        cmocka_unit_test(test_every_error_reported_in_order),
        cmocka_unit_test(test_syntax_error_position),
        cmocka_unit_test(test_bom_and_jsonc),
        cmocka_unit_test(test_secrets_never_in_messages),
        cmocka_unit_test(test_which_values_are_secrets),
        cmocka_unit_test(test_unreadable_file),
        cmocka_unit_test(test_settings_table),
        cmocka_unit_test(test_given_and_effective),
        cmocka_unit_test(test_restart_only_changes),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
