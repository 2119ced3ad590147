/*
 * expr.c - a compiler and evaluator for the expr-lang subset of expr.h.
 *
 * Mirrors what contrib v0.142 pkg/stanza/operator/helper/expr_string.go gets from
 * github.com/expr-lang/expr v1.17 (expr.Compile with AllowUndefinedVariables and, for
 * conditions, AsBool; the environment of GetExprEnv):
 *   - precedence as expr's parser/operator table: `or`/`||` 10 < `and`/`&&` 15 < `==`, `!=`,
 *     `matches` 20 < unary `not`/`!` 50, so `not a == b` is `(not a) == b`, as upstream;
 *   - `and` / `or` short-circuit; their operands, and `not`'s, must be booleans (a constant
 *     string is a compile error, a non-boolean variable a run-time error);
 *   - `matches` with a constant pattern compiles the regex once (OpMatchesConst); a nil left
 *     side gives false and a non-string one is a run-time error (vm/vm.go), which the router
 *     turns into a Warn and the next route;
 *   - `==` compares strings, booleans, nil and numbers (ints and doubles by value), as
 *     runtime.Equal does for the values an entry holds; maps and arrays are equal only to
 *     themselves (a documented simplification of reflect.DeepEqual);
 *   - fetching a key from attributes / resource / a map gives nil when absent; from nil or a
 *     scalar it is a run-time error ("cannot fetch x from ...").
 * Not supported (build error naming it): numbers, arithmetic, comparisons other than == / !=,
 * `in`, `contains`, `startsWith`, `endsWith`, function calls (`env(...)`), `timestamp`, other
 * variables, a non-constant `matches` pattern.
 */
#include "expr.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operators/operator.h"
#include "stanza.h"

#define EXPR_MAX_DEPTH 64 /* nesting bound for the recursive-descent parser */

enum node_kind {
    N_NIL,
    N_BOOL,
    N_STRING,
    N_BODY,
    N_ATTRIBUTES,
    N_RESOURCE,
    N_MEMBER, /* a[key] */
    N_NOT,
    N_AND,
    N_OR,
    N_EQ,
    N_NE,
    N_MATCHES,
};

enum static_type { T_ANY, T_BOOL, T_STRING, T_NIL };

struct node {
    enum node_kind kind;
    struct node *a, *b;
    char *str; /* N_STRING / N_MEMBER key (malloc'd) */
    bool boolean;
    bool negate; /* `not matches` */
    struct stanza_regex *re;
};

struct expr {
    struct node *root;
    char *text;
};

/* ---- lexer ---- */

enum token_kind {
    TK_EOF,
    TK_IDENT,
    TK_STRING,
    TK_LPAREN,
    TK_RPAREN,
    TK_LBRACKET,
    TK_RBRACKET,
    TK_DOT,
    TK_EQ,
    TK_NE,
    TK_AND,
    TK_OR,
    TK_BANG,
    TK_OTHER,
};

struct token {
    enum token_kind kind;
    const char *start;
    size_t len;
    char *value; /* TK_STRING: the unescaped text (malloc'd) */
};

struct parser {
    const char *text, *pos;
    struct token tok;
    char problem[256];
    int depth;
    bool oom;
};

static bool fail(struct parser *p, const char *fmt, const char *arg)
{
    if (!p->problem[0])
        snprintf(p->problem, sizeof(p->problem), fmt, arg);
    return false;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t utf8_encode(unsigned long cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A quoted string with Go's escapes (expr's lexer unescapes as strconv.Unquote does). */
static bool lex_string(struct parser *p)
{
    char quote = *p->pos++;
    size_t cap = strlen(p->pos) + 1;
    char *out = malloc(cap);
    size_t n = 0;
    if (!out) {
        p->oom = true;
        return fail(p, "%s", "out of memory");
    }
    for (;;) {
        char c = *p->pos;
        if (!c) {
            free(out);
            return fail(p, "%s", "literal not terminated");
        }
        p->pos++;
        if (c == quote)
            break;
        if (c != '\\') {
            out[n++] = c;
            continue;
        }
        char e = *p->pos++;
        unsigned long cp = 0;
        int digits = 0;
        switch (e) {
        case 'a': out[n++] = '\a'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'v': out[n++] = '\v'; break;
        case '\\': out[n++] = '\\'; break;
        case '\'': out[n++] = '\''; break;
        case '"': out[n++] = '"'; break;
        case 'x': digits = 2; break;
        case 'u': digits = 4; break;
        case 'U': digits = 8; break;
        default:
            if (e >= '0' && e <= '7' && p->pos[0] >= '0' && p->pos[0] <= '7' && p->pos[1] >= '0' &&
                p->pos[1] <= '7') {
                out[n++] = (char)((e - '0') * 64 + (p->pos[0] - '0') * 8 + (p->pos[1] - '0'));
                p->pos += 2;
                break;
            }
            free(out);
            return fail(p, "%s", "invalid char escape");
        }
        if (digits) {
            for (int i = 0; i < digits; i++) {
                int h = hex_value(*p->pos);
                if (h < 0) {
                    free(out);
                    return fail(p, "%s", "invalid char escape");
                }
                cp = cp * 16 + (unsigned long)h;
                p->pos++;
            }
            if (e == 'x')
                out[n++] = (char)cp;
            else
                n += utf8_encode(cp, out + n);
        }
    }
    out[n] = '\0';
    p->tok.value = out;
    return true;
}

static bool next_token(struct parser *p)
{
    free(p->tok.value);
    memset(&p->tok, 0, sizeof(p->tok));
    while (*p->pos == ' ' || *p->pos == '\t' || *p->pos == '\n' || *p->pos == '\r')
        p->pos++;
    const char *s = p->pos;
    p->tok.start = s;
    if (!*s) {
        p->tok.kind = TK_EOF;
        return true;
    }
    if (isalpha((unsigned char)*s) || *s == '_' || *s == '$') {
        while (isalnum((unsigned char)*p->pos) || *p->pos == '_' || *p->pos == '$')
            p->pos++;
        p->tok.kind = TK_IDENT;
        p->tok.len = (size_t)(p->pos - s);
        return true;
    }
    if (*s == '"' || *s == '\'') {
        p->tok.kind = TK_STRING;
        bool ok = lex_string(p);
        p->tok.len = (size_t)(p->pos - s);
        return ok;
    }
    static const struct {
        const char *text;
        enum token_kind kind;
    } punct[] = {{"==", TK_EQ},    {"!=", TK_NE},    {"&&", TK_AND},     {"||", TK_OR},
                 {"(", TK_LPAREN}, {")", TK_RPAREN}, {"[", TK_LBRACKET}, {"]", TK_RBRACKET},
                 {".", TK_DOT},    {"!", TK_BANG}};
    for (size_t i = 0; i < sizeof(punct) / sizeof(punct[0]); i++) {
        size_t len = strlen(punct[i].text);
        if (!strncmp(s, punct[i].text, len)) {
            p->tok.kind = punct[i].kind;
            p->tok.len = len;
            p->pos += len;
            return true;
        }
    }
    /* a number or an operator outside the subset: one "word" of it, for the message */
    while (*p->pos && !isspace((unsigned char)*p->pos) && !isalpha((unsigned char)*p->pos) &&
           *p->pos != '"' && *p->pos != '\'' && *p->pos != '(' && *p->pos != ')')
        p->pos++;
    if (isdigit((unsigned char)*s))
        while (isalnum((unsigned char)*p->pos) || *p->pos == '.')
            p->pos++;
    p->tok.kind = TK_OTHER;
    p->tok.len = (size_t)(p->pos - s);
    return true;
}

static bool tok_is(const struct parser *p, const char *word)
{
    return p->tok.kind == TK_IDENT && p->tok.len == strlen(word) &&
           !strncmp(p->tok.start, word, p->tok.len);
}

static const char *tok_text(const struct parser *p, char *buf, size_t size)
{
    snprintf(buf, size, "%.*s", (int)(p->tok.len > 60 ? 60 : p->tok.len), p->tok.start);
    return buf;
}

/* ---- AST ---- */

static void node_free(struct node *n)
{
    if (!n)
        return;
    node_free(n->a);
    node_free(n->b);
    free(n->str);
    stanza_regex_free(n->re);
    free(n);
}

static struct node *node_new(struct parser *p, enum node_kind kind, struct node *a, struct node *b)
{
    struct node *n = calloc(1, sizeof(*n));
    if (!n) {
        node_free(a);
        node_free(b);
        p->oom = true;
        fail(p, "%s", "out of memory");
        return NULL;
    }
    n->kind = kind;
    n->a = a;
    n->b = b;
    return n;
}

static enum static_type type_of(const struct node *n)
{
    switch (n->kind) {
    case N_NIL: return T_NIL;
    case N_STRING: return T_STRING;
    case N_BOOL:
    case N_NOT:
    case N_AND:
    case N_OR:
    case N_EQ:
    case N_NE:
    case N_MATCHES: return T_BOOL;
    default: return T_ANY;
    }
}

static const char *type_name(enum static_type t)
{
    switch (t) {
    case T_BOOL: return "bool";
    case T_STRING: return "string";
    case T_NIL: return "nil";
    default: return "interface {}";
    }
}

static struct node *parse_expression(struct parser *p, int min_precedence);

static struct node *parse_postfix(struct parser *p, struct node *n)
{
    while (n && (p->tok.kind == TK_DOT || p->tok.kind == TK_LBRACKET)) {
        char *key = NULL;
        if (p->tok.kind == TK_DOT) {
            if (!next_token(p))
                goto fail;
            if (p->tok.kind != TK_IDENT) {
                fail(p, "%s", "expected a name after '.'");
                goto fail;
            }
            key = strndup(p->tok.start, p->tok.len);
        } else {
            if (!next_token(p))
                goto fail;
            if (p->tok.kind != TK_STRING) {
                char buf[64];
                fail(p, "unsupported index '%s' (otelcol-ref supports [\"key\"] only)",
                     tok_text(p, buf, sizeof(buf)));
                goto fail;
            }
            key = strdup(p->tok.value);
            if (!next_token(p)) {
                free(key);
                goto fail;
            }
            if (p->tok.kind != TK_RBRACKET) {
                free(key);
                fail(p, "%s", "expected ']'");
                goto fail;
            }
        }
        if (!key) {
            p->oom = true;
            fail(p, "%s", "out of memory");
            goto fail;
        }
        struct node *m = node_new(p, N_MEMBER, n, NULL);
        if (!m) {
            free(key);
            return NULL;
        }
        m->str = key;
        n = m;
        if (!next_token(p))
            goto fail;
    }
    return n;
fail:
    node_free(n);
    return NULL;
}

static struct node *parse_primary(struct parser *p)
{
    char buf[64];
    struct node *n = NULL;
    switch (p->tok.kind) {
    case TK_STRING:
        if (!(n = node_new(p, N_STRING, NULL, NULL)))
            return NULL;
        n->str = p->tok.value;
        p->tok.value = NULL;
        break;
    case TK_LPAREN:
        if (!next_token(p))
            return NULL;
        n = parse_expression(p, 0);
        if (!n)
            return NULL;
        if (p->tok.kind != TK_RPAREN) {
            node_free(n);
            fail(p, "%s", "expected ')'");
            return NULL;
        }
        break;
    case TK_IDENT:
        if (tok_is(p, "true") || tok_is(p, "false")) {
            if (!(n = node_new(p, N_BOOL, NULL, NULL)))
                return NULL;
            n->boolean = tok_is(p, "true");
        } else if (tok_is(p, "nil")) {
            n = node_new(p, N_NIL, NULL, NULL);
        } else if (tok_is(p, "body") || tok_is(p, "$")) {
            n = node_new(p, N_BODY, NULL, NULL);
        } else if (tok_is(p, "attributes")) {
            n = node_new(p, N_ATTRIBUTES, NULL, NULL);
        } else if (tok_is(p, "resource")) {
            n = node_new(p, N_RESOURCE, NULL, NULL);
        } else {
            fail(p,
                 "unsupported variable or function '%s' (otelcol-ref supports body, $, "
                 "attributes, resource)",
                 tok_text(p, buf, sizeof(buf)));
            return NULL;
        }
        if (!n)
            return NULL;
        break;
    case TK_EOF: fail(p, "%s", "unexpected end of expression"); return NULL;
    default: fail(p, "unsupported token '%s'", tok_text(p, buf, sizeof(buf))); return NULL;
    }
    if (!next_token(p)) {
        node_free(n);
        return NULL;
    }
    if (p->tok.kind == TK_LPAREN) {
        node_free(n);
        fail(p, "%s", "unsupported function call");
        return NULL;
    }
    return parse_postfix(p, n);
}

static struct node *parse_unary(struct parser *p)
{
    if (p->tok.kind == TK_BANG || tok_is(p, "not")) {
        const char *op = p->tok.kind == TK_BANG ? "!" : "not";
        if (!next_token(p))
            return NULL;
        struct node *operand = parse_expression(p, 50);
        if (!operand)
            return NULL;
        enum static_type t = type_of(operand);
        if (t != T_BOOL && t != T_ANY) {
            node_free(operand);
            char msg[96];
            snprintf(msg, sizeof(msg), "invalid operation: %s (mismatched type %s)", op,
                     type_name(t));
            fail(p, "%s", msg);
            return NULL;
        }
        return node_new(p, N_NOT, operand, NULL);
    }
    return parse_primary(p);
}

static bool binary_op(struct parser *p, enum node_kind *kind, int *precedence, bool *negate)
{
    char buf[64];
    *negate = false;
    switch (p->tok.kind) {
    case TK_OR: *kind = N_OR, *precedence = 10; return true;
    case TK_AND: *kind = N_AND, *precedence = 15; return true;
    case TK_EQ: *kind = N_EQ, *precedence = 20; return true;
    case TK_NE: *kind = N_NE, *precedence = 20; return true;
    case TK_IDENT:
        if (tok_is(p, "or")) {
            *kind = N_OR, *precedence = 10;
            return true;
        }
        if (tok_is(p, "and")) {
            *kind = N_AND, *precedence = 15;
            return true;
        }
        if (tok_is(p, "matches")) {
            *kind = N_MATCHES, *precedence = 20;
            return true;
        }
        if (tok_is(p, "not")) {
            /* `a not matches b` (expr's negated binary operators) */
            const char *save = p->pos;
            const char *rest = save;
            while (*rest == ' ' || *rest == '\t')
                rest++;
            if (!strncmp(rest, "matches", 7) && !isalnum((unsigned char)rest[7])) {
                *kind = N_MATCHES, *precedence = 20, *negate = true;
                return true;
            }
        }
        fail(p, "unsupported operator '%s'", tok_text(p, buf, sizeof(buf)));
        return false;
    case TK_OTHER: fail(p, "unsupported token '%s'", tok_text(p, buf, sizeof(buf))); return false;
    default: return false;
    }
}

static struct node *parse_expression(struct parser *p, int min_precedence)
{
    if (++p->depth > EXPR_MAX_DEPTH) {
        fail(p, "%s", "expression nested too deeply");
        return NULL;
    }
    struct node *left = parse_unary(p);
    while (left) {
        enum node_kind kind;
        int precedence;
        bool negate;
        if (p->tok.kind == TK_EOF || p->tok.kind == TK_RPAREN || p->tok.kind == TK_RBRACKET)
            break;
        if (!binary_op(p, &kind, &precedence, &negate)) {
            if (!p->problem[0]) {
                char buf[64];
                fail(p, "unexpected token '%s'", tok_text(p, buf, sizeof(buf)));
            }
            node_free(left);
            left = NULL;
            break;
        }
        if (precedence < min_precedence)
            break;
        if (!next_token(p) || (negate && !next_token(p))) {
            node_free(left);
            left = NULL;
            break;
        }
        struct node *right = parse_expression(p, precedence + 1);
        if (!right) {
            node_free(left);
            left = NULL;
            break;
        }
        enum static_type lt = type_of(left), rt = type_of(right);
        const char *opname = kind == N_AND ? "and" : kind == N_OR ? "or" : "matches";
        char msg[128];
        if ((kind == N_AND || kind == N_OR) &&
            ((lt != T_BOOL && lt != T_ANY) || (rt != T_BOOL && rt != T_ANY))) {
            snprintf(msg, sizeof(msg), "invalid operation: %s (mismatched types %s and %s)", opname,
                     type_name(lt), type_name(rt));
            fail(p, "%s", msg);
            node_free(left);
            node_free(right);
            left = NULL;
            break;
        }
        struct node *n = node_new(p, kind, left, right);
        left = n;
        if (!n)
            break;
        n->negate = negate;
        if (kind == N_MATCHES) {
            if ((lt != T_STRING && lt != T_ANY) || right->kind != N_STRING) {
                if (right->kind != N_STRING && rt != T_NIL && rt != T_BOOL)
                    snprintf(msg, sizeof(msg), "%s",
                             "unsupported: the pattern of matches must be a string literal");
                else
                    snprintf(msg, sizeof(msg),
                             "invalid operation: matches (mismatched types %s and %s)",
                             type_name(lt), type_name(rt));
                fail(p, "%s", msg);
                node_free(n);
                left = NULL;
                break;
            }
            struct error rerr = {0};
            if (stanza_regex_compile(right->str, &n->re, &rerr) < 0) {
                if (rerr.code == -ENOMEM)
                    p->oom = true;
                snprintf(p->problem, sizeof(p->problem), "%.200s", rerr.message);
                node_free(n);
                left = NULL;
                break;
            }
        }
    }
    p->depth--;
    return left;
}

int expr_compile(const char *text, bool want_bool, struct expr **out, struct error *err)
{
    struct parser p = {.text = text, .pos = text};
    struct expr *x = calloc(1, sizeof(*x));
    *out = NULL;
    if (!x || !(x->text = strdup(text))) {
        free(x);
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
    if (next_token(&p))
        x->root = parse_expression(&p, 0);
    if (x->root && p.tok.kind != TK_EOF) {
        char buf[64];
        fail(&p, "unexpected token '%s'", tok_text(&p, buf, sizeof(buf)));
        node_free(x->root);
        x->root = NULL;
    }
    free(p.tok.value);
    if (!x->root) {
        int code = p.oom ? -ENOMEM : -EINVAL;
        error_set(err, code, ERROR_PERMANENT, "expression '%s': %s", text,
                  p.problem[0] ? p.problem : "invalid");
        expr_free(x);
        return code;
    }
    enum static_type t = type_of(x->root);
    if (want_bool && t != T_BOOL && t != T_ANY) {
        error_set(err, -EINVAL, ERROR_PERMANENT, "expression '%s': expected bool, but got %s", text,
                  type_name(t));
        expr_free(x);
        return -EINVAL;
    }
    *out = x;
    return 0;
}

void expr_free(struct expr *x)
{
    if (!x)
        return;
    node_free(x->root);
    free(x->text);
    free(x);
}

/* ---- evaluation ---- */

enum value_kind { V_NIL, V_BOOL, V_STRING, V_INT, V_DOUBLE, V_OTHER, V_MAP_KVS };

struct value {
    enum value_kind kind;
    bool boolean;
    const char *str;
    int64_t i;
    double d;
    const otlp_anyvalue *any; /* V_OTHER (maps, arrays, bytes), and the source of scalars */
    otlp_keyvalue *const *kvs;
    size_t n_kvs;
};

static struct value from_any(const otlp_anyvalue *v)
{
    struct value out = {.kind = V_NIL, .any = v};
    if (!v)
        return out;
    switch (v->value_case) {
    case ANY_STRING: out.kind = V_STRING, out.str = v->string_value ? v->string_value : ""; break;
    case ANY_BOOL: out.kind = V_BOOL, out.boolean = v->bool_value; break;
    case ANY_INT: out.kind = V_INT, out.i = v->int_value; break;
    case ANY_DOUBLE: out.kind = V_DOUBLE, out.d = v->double_value; break;
    case ANY_NOT_SET: out.kind = V_NIL; break;
    default: out.kind = V_OTHER; break;
    }
    return out;
}

static const char *go_type(const struct value *v)
{
    switch (v->kind) {
    case V_NIL: return "<nil>";
    case V_BOOL: return "bool";
    case V_STRING: return "string";
    case V_INT: return "int64";
    case V_DOUBLE: return "float64";
    case V_MAP_KVS: return "map[string]interface {}";
    case V_OTHER:
        if (v->any->value_case == ANY_KVLIST)
            return "map[string]interface {}";
        if (v->any->value_case == ANY_ARRAY)
            return "[]interface {}";
        return "[]uint8";
    }
    return "?";
}

static int runtime_error(const struct expr *x, struct error *err, const char *fmt, const char *a,
                         const char *b)
{
    char msg[256];
    snprintf(msg, sizeof(msg), fmt, a, b);
    return error_set(err, -EINVAL, ERROR_PERMANENT, "%s (expression '%s')", msg, x->text);
}

static bool values_equal(const struct value *a, const struct value *b)
{
    if (a->kind == V_NIL || b->kind == V_NIL)
        return a->kind == b->kind;
    if ((a->kind == V_INT || a->kind == V_DOUBLE) && (b->kind == V_INT || b->kind == V_DOUBLE)) {
        double x = a->kind == V_INT ? (double)a->i : a->d;
        double y = b->kind == V_INT ? (double)b->i : b->d;
        if (a->kind == V_INT && b->kind == V_INT)
            return a->i == b->i;
        return x == y;
    }
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case V_BOOL: return a->boolean == b->boolean;
    case V_STRING: return !strcmp(a->str, b->str);
    case V_MAP_KVS: return a->kvs == b->kvs;
    default: return a->any == b->any;
    }
}

static int eval(const struct expr *x, const struct node *n, const struct stanza_entry *e,
                struct value *out, struct error *err)
{
    struct value a, b;
    int rc;
    switch (n->kind) {
    case N_NIL: *out = (struct value){.kind = V_NIL}; return 0;
    case N_BOOL: *out = (struct value){.kind = V_BOOL, .boolean = n->boolean}; return 0;
    case N_STRING: *out = (struct value){.kind = V_STRING, .str = n->str}; return 0;
    case N_BODY: *out = from_any(e->record->body); return 0;
    case N_ATTRIBUTES:
        *out = (struct value){
            .kind = V_MAP_KVS, .kvs = e->record->attributes, .n_kvs = e->record->n_attributes};
        return 0;
    case N_RESOURCE:
        *out = (struct value){.kind = V_MAP_KVS, .kvs = e->resource, .n_kvs = e->n_resource};
        return 0;
    case N_MEMBER:
        if ((rc = eval(x, n->a, e, &a, err)) < 0)
            return rc;
        if (a.kind == V_MAP_KVS) {
            *out = from_any(stanza_kv_get(a.kvs, a.n_kvs, n->str));
            return 0;
        }
        if (a.kind == V_OTHER && a.any->value_case == ANY_KVLIST && a.any->kvlist_value) {
            *out = from_any(
                stanza_kv_get(a.any->kvlist_value->values, a.any->kvlist_value->n_values, n->str));
            return 0;
        }
        return runtime_error(x, err, "cannot fetch %s from %s", n->str, go_type(&a));
    case N_NOT:
        if ((rc = eval(x, n->a, e, &a, err)) < 0)
            return rc;
        if (a.kind != V_BOOL)
            return runtime_error(x, err, "invalid operation: !%s (mismatched type %s)", "",
                                 go_type(&a));
        *out = (struct value){.kind = V_BOOL, .boolean = !a.boolean};
        return 0;
    case N_AND:
    case N_OR:
        if ((rc = eval(x, n->a, e, &a, err)) < 0)
            return rc;
        if (a.kind != V_BOOL)
            return runtime_error(x, err, "invalid operation: %s (mismatched type %s)",
                                 n->kind == N_AND ? "and" : "or", go_type(&a));
        if (a.boolean == (n->kind == N_OR)) {
            *out = a; /* short circuit */
            return 0;
        }
        if ((rc = eval(x, n->b, e, &b, err)) < 0)
            return rc;
        if (b.kind != V_BOOL)
            return runtime_error(x, err, "invalid operation: %s (mismatched type %s)",
                                 n->kind == N_AND ? "and" : "or", go_type(&b));
        *out = b;
        return 0;
    case N_EQ:
    case N_NE:
        if ((rc = eval(x, n->a, e, &a, err)) < 0 || (rc = eval(x, n->b, e, &b, err)) < 0)
            return rc;
        *out = (struct value){.kind = V_BOOL, .boolean = values_equal(&a, &b) == (n->kind == N_EQ)};
        return 0;
    case N_MATCHES:
        if ((rc = eval(x, n->a, e, &a, err)) < 0)
            return rc;
        if (a.kind == V_NIL) {
            *out = (struct value){.kind = V_BOOL, .boolean = false};
            return 0;
        }
        if (a.kind != V_STRING)
            return runtime_error(x, err, "interface conversion: interface {} is %s, not %s",
                                 go_type(&a), "string");
        rc = stanza_regex_match(n->re, a.str, strlen(a.str));
        if (rc < 0)
            return error_set(err, rc, ERROR_PERMANENT, "regex match failed (expression '%s')",
                             x->text);
        *out = (struct value){.kind = V_BOOL, .boolean = (rc == 1) != n->negate};
        return 0;
    }
    return error_set(err, -EINVAL, ERROR_PERMANENT, "bad expression node");
}

int expr_eval_bool(const struct expr *x, const struct stanza_entry *e, bool *out, struct error *err)
{
    struct value v;
    int rc = eval(x, x->root, e, &v, err);
    if (rc < 0)
        return rc;
    if (v.kind != V_BOOL)
        return runtime_error(x, err, "expected bool, but got %s%s", go_type(&v), "");
    *out = v.boolean;
    return 0;
}

int expr_eval_value(const struct expr *x, const struct stanza_entry *e, otlp_anyvalue **out,
                    struct error *err)
{
    struct value v;
    *out = NULL;
    int rc = eval(x, x->root, e, &v, err);
    if (rc < 0)
        return rc;
    switch (v.kind) {
    case V_NIL: *out = stanza_value_nil(); break;
    case V_BOOL: *out = stanza_value_bool(v.boolean); break;
    case V_STRING: *out = stanza_value_string(v.str); break;
    case V_MAP_KVS: {
        *out = stanza_value_map();
        for (size_t i = 0; *out && i < v.n_kvs; i++) {
            otlp_anyvalue *item = stanza_value_clone(v.kvs[i]->value);
            if (!item ||
                stanza_kv_upsert(&(*out)->kvlist_value->values, &(*out)->kvlist_value->n_values,
                                 v.kvs[i]->key, item) < 0) {
                stanza_value_free(*out);
                *out = NULL;
            }
        }
        break;
    }
    default: *out = stanza_value_clone(v.any); break;
    }
    return *out ? 0 : error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
}

/* ---- EXPR(...) strings (helper/expr_string.go ExprStringConfig.Build) ---- */

struct expr_string {
    char **literals; /* n_exprs + 1 */
    struct expr **exprs;
    size_t n_exprs;
};

void expr_string_free(struct expr_string *s)
{
    if (!s)
        return;
    for (size_t i = 0; i <= s->n_exprs; i++)
        free(s->literals ? s->literals[i] : NULL);
    for (size_t i = 0; i < s->n_exprs; i++)
        expr_free(s->exprs[i]);
    free(s->literals);
    free(s->exprs);
    free(s);
}

static const char *find_in(const char *s, size_t len, const char *needle)
{
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= len; i++)
        if (!memcmp(s + i, needle, nl))
            return s + i;
    return NULL;
}

int expr_string_compile(const char *text, struct expr_string **out, struct error *err)
{
    static const char start_token[] = "EXPR(";
    size_t total = strlen(text), range_start = 0;
    struct expr_string *s = calloc(1, sizeof(*s));
    int rc = -ENOMEM;
    *out = NULL;
    /* at most total/5 embedded expressions */
    size_t max_parts = total / 5 + 1;
    if (!s || !(s->literals = calloc(max_parts + 1, sizeof(char *))) ||
        !(s->exprs = calloc(max_parts, sizeof(struct expr *))))
        goto fail;
    for (;;) {
        const char *rest = text + range_start;
        const char *at = find_in(rest, total - range_start, start_token);
        if (!at) {
            if (!(s->literals[s->n_exprs] = strdup(rest)))
                goto fail;
            break;
        }
        size_t index_start = (size_t)(at - text);
        /* the end token is searched before the next start token, greedily (LastIndex) */
        const char *after = text + index_start + 5;
        const char *next_start = find_in(after, total - index_start - 5, start_token);
        size_t range_end = next_start ? (size_t)(next_start - text) : total;
        ptrdiff_t index_end = -1;
        for (size_t i = range_end; i > index_start; i--)
            if (text[i - 1] == ')') {
                index_end = (ptrdiff_t)(i - 1);
                break;
            }
        if (index_end < 0) {
            if (!(s->literals[s->n_exprs] = strdup(rest)))
                goto fail;
            break;
        }
        if (!(s->literals[s->n_exprs] = strndup(rest, index_start - range_start)))
            goto fail;
        char *inner = strndup(text + index_start + 5, (size_t)index_end - index_start - 5);
        if (!inner)
            goto fail;
        rc = expr_compile(inner, false, &s->exprs[s->n_exprs], err);
        free(inner);
        if (rc < 0) {
            error_prefix(err, "compile embedded expression");
            goto fail;
        }
        s->n_exprs++;
        range_start = (size_t)index_end + 1;
        if (range_start > total) {
            if (!(s->literals[s->n_exprs] = strdup("")))
                goto fail;
            break;
        }
    }
    *out = s;
    return 0;
fail:
    if (rc == -ENOMEM)
        error_set(err, rc, ERROR_PERMANENT, "out of memory");
    expr_string_free(s);
    return rc;
}

int expr_string_render(const struct expr_string *s, const struct stanza_entry *e, char **out,
                       struct error *err)
{
    size_t cap = 64, len = 0;
    char *buf = malloc(cap);
    int rc = -ENOMEM;
    *out = NULL;
    if (!buf)
        goto fail;
    for (size_t i = 0; i <= s->n_exprs; i++) {
        const char *parts[2] = {s->literals[i], NULL};
        struct value v;
        if (i < s->n_exprs) {
            if ((rc = eval(s->exprs[i], s->exprs[i]->root, e, &v, err)) < 0) {
                error_prefix(err, "render embedded expression");
                goto fail;
            }
            if (v.kind != V_STRING) {
                rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                               "embedded expression returned non-string %s", go_type(&v));
                goto fail;
            }
            parts[1] = v.str;
        }
        for (int k = 0; k < 2 && parts[k]; k++) {
            size_t add = strlen(parts[k]);
            if (len + add + 1 > cap) {
                while (len + add + 1 > cap)
                    cap *= 2;
                char *grown = realloc(buf, cap);
                if (!grown) {
                    rc = -ENOMEM;
                    goto fail;
                }
                buf = grown;
            }
            memcpy(buf + len, parts[k], add);
            len += add;
        }
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
fail:
    if (rc == -ENOMEM)
        error_set(err, rc, ERROR_PERMANENT, "out of memory");
    free(buf);
    return rc;
}
