/*
 * k8s_selector.c - the API server's label and field selectors (k8s_selector.h), checked against
 * kubernetes/kubernetes through the read_file index (newest stored versions, 1.3x):
 *   - staging/src/k8s.io/apimachinery/pkg/labels/selector.go: the lexer (blanks are ' ', '\t',
 *     '\r', '\n'; identifiers run to a blank or one of `=!(),<>`; `in`/`notin` are keywords only
 *     where an operator may stand), the recursive-descent parser with each of its error texts,
 *     NewRequirement's value checks and Requirement.Matches (Gt/Lt compare int64s).
 *   - staging/src/k8s.io/apimachinery/pkg/api/validate/content/{kube,dns,errors}.go: label key
 *     and value rules and their messages; util/validation/field/errors.go: the
 *     `<path>: Invalid value: "<v>": <detail>` form (a nil path prints "<nil>"), and the
 *     aggregate form `[a, b]` of utilerrors.
 *   - staging/src/k8s.io/apimachinery/pkg/fields/selector.go: splitTerms / splitTerm /
 *     UnescapeValue (`\,` `\=` `\\`) and their errors; terms are sorted before use.
 *   - pkg/apis/core/v1/conversion.go: the field labels of Pod, Node, ReplicationController,
 *     Event, Namespace, Secret, Service ("field label not supported: <label>");
 *     runtime.DefaultMetaV1FieldSelectorConversion for every other kind.
 *   - pkg/registry/core/pod/strategy.go ToSelectableFields: the values a pod offers.
 *   - staging/src/k8s.io/apiserver/pkg/endpoints/handlers/get.go (ListResource) and
 *     request/requestinfo.go: the selector error is the Status message as is; the request name
 *     taken from `metadata.name=`.
 *   - metav1 Convert_string_To_labels_Selector / _fields_Selector: parse errors are not wrapped.
 *
 * Upstream quirks kept on purpose:
 *   - `status.podIPs` is an accepted field label for pods but absent from the pod's selectable
 *     field set, so it reads as "": `status.podIPs=` matches every pod, `status.podIPs=10.0.0.1`
 *     none. It does not match "any of the IPs".
 *   - "found '%s' expected: '('" has no comma; an unescaped `=` in a field value reports the
 *     rune as a number ("unescaped character in value: 61").
 *   - value sets drop duplicates and are sorted before the values are checked, so error indexes
 *     count in that order; a value error and an integer error for Gt/Lt come out together.
 *   - label key errors are reported against the nil path ("<nil>: Invalid value: ...").
 *
 * Not done: field selectors of non-core groups that register their own labels (batch Jobs,
 * certificates, events.k8s.io, CRD selectableFields): they get the default metadata.name /
 * metadata.namespace set. The String() forms of selectors are not produced.
 */
#include "k8s_selector.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_util.h"
#include "strbuf.h"

/* Messages quote at most the whole selector a few times. */
#define MESSAGE_MAX ((size_t)16 * K8S_SELECTOR_TEXT_MAX)

/* content.MaxLenError of the newest apimachinery ("bytes"; older releases said "characters"). */
#define MAX_LENGTH_ERROR(n) "must be no more than " #n " bytes"
#define LABEL_KEY_RULE                                                                             \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "         \
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define LABEL_VALUE_RULE                                                                           \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "             \
    "'my_value',  or '12345', regex used for validation is "                                       \
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
#define SUBDOMAIN_RULE                                                                             \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "  \
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

/* ---- shared: texts, messages ---- */

struct slice {
    const char *text;
    size_t len;
};

/* Appends s[0..len) as Go's %q writes it. */
static void put_quoted(struct strbuf *b, const char *s, size_t len)
{
    char *copy = strndup(s, len);
    char *quoted = NULL;
    if (copy && go_quote(copy, &quoted) == 0)
        strbuf_puts(b, quoted);
    else if (b->error == 0)
        b->error = -ENOMEM;
    free(quoted);
    free(copy);
}

/* Fills `err` from the message built in `b` (released) and returns -EINVAL, or -ENOMEM when the
 * message itself could not be built. */
static int fail_with_message(struct strbuf *b, struct error *err)
{
    char *text = NULL;
    if (strbuf_finish(b, &text, NULL) < 0)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    error_set(err, -EINVAL, ERROR_PERMANENT, "%s", text);
    free(text);
    return -EINVAL;
}

static int compare_slices(const void *a, const void *b)
{
    const struct slice *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->text, y->text, n);
    if (c != 0)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

static bool slice_equals(struct slice s, const char *text, size_t len)
{
    return s.len == len && memcmp(s.text, text, len) == 0;
}

/* strconv.ParseInt(s, 10, 64). */
static bool parse_int64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool negative = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        negative = s[i++] == '-';
    if (i == len)
        return false;
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t value = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned digit = (unsigned)(s[i] - '0');
        if (value > (limit - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    *out = negative ? (int64_t)(0 - value) : (int64_t)value;
    return true;
}

/* A JSON string's bytes, or false when `v` is not a string. */
static bool json_text(const json_t *v, struct slice *out)
{
    if (!json_is_string(v))
        return false;
    out->text = json_string_value(v);
    out->len = json_string_length(v);
    return true;
}

/* ---- label key and value rules (content.IsLabelKey, content.IsLabelValue) ---- */

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static bool is_label_name(const char *s, size_t len)
{
    if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
        return false;
    for (size_t i = 1; i + 1 < len; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)* */
static bool is_dns_subdomain(const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        const char *label = s + start;
        size_t n = i - start;
        if (n == 0)
            return false;
        for (size_t j = 0; j < n; j++) {
            char c = label[j];
            bool lower_alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
            if (!lower_alnum && (c != '-' || j == 0 || j == n - 1))
                return false;
        }
        start = i + 1;
    }
    return true;
}

/* Appends one detail to a "; "-joined list. */
static void add_detail(struct strbuf *details, int *count, const char *text)
{
    if ((*count)++ > 0)
        strbuf_puts(details, "; ");
    strbuf_puts(details, text);
}

/* The messages of content.IsLabelKey joined by "; " into `details`; returns how many. */
static int check_label_key(const char *key, size_t len, struct strbuf *details)
{
    int count = 0;
    const char *slash = memchr(key, '/', len);
    if (slash && memchr(slash + 1, '/', len - (size_t)(slash + 1 - key))) {
        add_detail(details, &count,
                   "a valid label key " LABEL_KEY_RULE " with an optional DNS subdomain prefix "
                   "and '/' (e.g. 'example.com/MyName')");
        return count;
    }
    const char *name = key;
    size_t name_len = len;
    if (slash) {
        size_t prefix_len = (size_t)(slash - key);
        name = slash + 1;
        name_len = len - prefix_len - 1;
        if (prefix_len == 0) {
            add_detail(details, &count, "prefix part must be non-empty");
        } else {
            if (prefix_len > 253)
                add_detail(details, &count, "prefix part " MAX_LENGTH_ERROR(253));
            if (!is_dns_subdomain(key, prefix_len))
                add_detail(details, &count, "prefix part " SUBDOMAIN_RULE);
        }
    }
    if (name_len == 0)
        add_detail(details, &count, "name part must be non-empty");
    else if (name_len > 63)
        add_detail(details, &count, "name part " MAX_LENGTH_ERROR(63));
    if (!is_label_name(name, name_len))
        add_detail(details, &count, "name part " LABEL_KEY_RULE);
    return count;
}

/* The messages of content.IsLabelValue, as check_label_key. */
static int check_label_value(const char *value, size_t len, struct strbuf *details)
{
    int count = 0;
    if (len > 63)
        add_detail(details, &count, MAX_LENGTH_ERROR(63));
    if (len > 0 && !is_label_name(value, len))
        add_detail(details, &count, LABEL_VALUE_RULE);
    return count;
}

/* ---- label selectors: the lexer ---- */

enum token_kind {
    TOKEN_END,
    TOKEN_CLOSE_PAREN,
    TOKEN_COMMA,
    TOKEN_NOT,
    TOKEN_DOUBLE_EQUALS,
    TOKEN_EQUALS,
    TOKEN_GREATER_THAN,
    TOKEN_IDENTIFIER,
    TOKEN_IN,
    TOKEN_LESS_THAN,
    TOKEN_NOT_EQUALS,
    TOKEN_NOT_IN,
    TOKEN_OPEN_PAREN,
};

struct token {
    enum token_kind kind;
    struct slice literal; /* "" for TOKEN_END */
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
    return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

/* One token from *pos, which moves past it. Upstream's longest-match over special symbols
 * only ever joins two of them: "==" and "!=". */
static struct token lex(const char **pos)
{
    const char *p = *pos;
    while (is_blank(*p))
        p++;
    struct token t = {TOKEN_END, {p, 0}};
    if (*p == '\0') {
        *pos = p;
        return t;
    }
    if (is_special(*p)) {
        t.literal.len = 1;
        if ((*p == '=' || *p == '!') && p[1] == '=') {
            t.literal.len = 2;
            t.kind = *p == '=' ? TOKEN_DOUBLE_EQUALS : TOKEN_NOT_EQUALS;
        } else {
            switch (*p) {
            case '=': t.kind = TOKEN_EQUALS; break;
            case '!': t.kind = TOKEN_NOT; break;
            case '(': t.kind = TOKEN_OPEN_PAREN; break;
            case ')': t.kind = TOKEN_CLOSE_PAREN; break;
            case ',': t.kind = TOKEN_COMMA; break;
            case '>': t.kind = TOKEN_GREATER_THAN; break;
            default: t.kind = TOKEN_LESS_THAN; break;
            }
        }
    } else {
        while (p[t.literal.len] && !is_special(p[t.literal.len]) && !is_blank(p[t.literal.len]))
            t.literal.len++;
        t.kind = TOKEN_IDENTIFIER;
        if (slice_equals(t.literal, "in", 2))
            t.kind = TOKEN_IN;
        else if (slice_equals(t.literal, "notin", 5))
            t.kind = TOKEN_NOT_IN;
    }
    *pos = p + t.literal.len;
    return t;
}

/* ---- label selectors: the parser ---- */

enum label_operator {
    OPERATOR_IN,
    OPERATOR_NOT_IN,
    OPERATOR_EQUALS,
    OPERATOR_DOUBLE_EQUALS,
    OPERATOR_NOT_EQUALS,
    OPERATOR_EXISTS,
    OPERATOR_DOES_NOT_EXIST,
    OPERATOR_GREATER_THAN,
    OPERATOR_LESS_THAN,
};

struct requirement {
    char *key;
    enum label_operator op;
    size_t value_count;
    char **values;  /* sorted, distinct; NULL for Exists / DoesNotExist */
    int64_t number; /* Gt / Lt: the one value as an integer */
};

struct k8s_label_selector {
    size_t count;
    struct requirement *requirements;
};

struct label_parser {
    struct token *tokens; /* the whole text, ending with TOKEN_END */
    size_t token_count, position;
    struct slice *values; /* the values of the requirement being parsed */
    size_t value_count;
    struct strbuf message; /* the error text, once there is one */
};

/* The next token's kind. Where values may stand, `in` and `notin` are plain identifiers. */
static enum token_kind peek(const struct label_parser *p, bool values)
{
    enum token_kind kind = p->tokens[p->position].kind;
    if (values && (kind == TOKEN_IN || kind == TOKEN_NOT_IN))
        return TOKEN_IDENTIFIER;
    return kind;
}

static struct token take(struct label_parser *p, bool values)
{
    struct token t = p->tokens[p->position];
    if (p->position + 1 < p->token_count)
        p->position++;
    if (values && (t.kind == TOKEN_IN || t.kind == TOKEN_NOT_IN))
        t.kind = TOKEN_IDENTIFIER;
    return t;
}

/* "[unable to parse requirement: ]found '<literal>'<rest>". Returns -EINVAL. */
static int found_error(struct label_parser *p, bool in_requirement, struct slice literal,
                       const char *rest)
{
    if (in_requirement)
        strbuf_puts(&p->message, "unable to parse requirement: ");
    strbuf_puts(&p->message, "found '");
    strbuf_add(&p->message, literal.text, literal.len);
    strbuf_putc(&p->message, '\'');
    strbuf_puts(&p->message, rest);
    return -EINVAL;
}

static void add_value(struct label_parser *p, const char *text, size_t len)
{
    p->values[p->value_count].text = text;
    p->values[p->value_count].len = len;
    p->value_count++;
}

/* parseValues + parseIdentifiersList: "(a,b)", "()" = {""}, "(a,)" = {a, ""}, "(,,)" = {""}. */
static int parse_value_set(struct label_parser *p)
{
    struct token t = take(p, true);
    if (t.kind != TOKEN_OPEN_PAREN)
        return found_error(p, true, t.literal, " expected: '('");
    enum token_kind kind = peek(p, true);
    if (kind == TOKEN_CLOSE_PAREN) {
        take(p, true);
        add_value(p, "", 0);
        return 0;
    }
    if (kind != TOKEN_IDENTIFIER && kind != TOKEN_COMMA)
        return found_error(p, true, p->tokens[p->position].literal,
                           ", expected: ',', ')' or identifier");
    for (;;) {
        t = take(p, true);
        if (t.kind == TOKEN_IDENTIFIER) {
            add_value(p, t.literal.text, t.literal.len);
            kind = peek(p, true);
            if (kind == TOKEN_CLOSE_PAREN)
                break;
            if (kind != TOKEN_COMMA)
                return found_error(p, true, p->tokens[p->position].literal,
                                   ", expected: ',' or ')'");
        } else if (t.kind == TOKEN_COMMA) {
            if (p->value_count == 0)
                add_value(p, "", 0);
            kind = peek(p, true);
            if (kind == TOKEN_CLOSE_PAREN) {
                add_value(p, "", 0);
                break;
            }
            if (kind == TOKEN_COMMA)
                add_value(p, "", 0);
        } else {
            return found_error(p, true, t.literal, ", expected: ',', or identifier");
        }
    }
    take(p, true); /* the ')' that ended the list */
    return 0;
}

/* parseExactValue: the value after =, ==, !=, >, <; nothing before ',' or the end is "". */
static int parse_exact_value(struct label_parser *p)
{
    enum token_kind kind = peek(p, true);
    if (kind == TOKEN_END || kind == TOKEN_COMMA) {
        add_value(p, "", 0);
        return 0;
    }
    struct token t = take(p, true);
    if (t.kind != TOKEN_IDENTIFIER)
        return found_error(p, true, t.literal, ", expected: identifier");
    add_value(p, t.literal.text, t.literal.len);
    return 0;
}

/* NewRequirement's checks on the (sorted, distinct) values: an aggregate of field errors. */
static int check_values(struct label_parser *p, const struct slice *key, enum label_operator op)
{
    struct strbuf errors = STRBUF_INIT(MESSAGE_MAX);
    int count = 0;
    bool ordered = op == OPERATOR_GREATER_THAN || op == OPERATOR_LESS_THAN;
    for (size_t i = 0; ordered && i < p->value_count; i++) {
        int64_t unused;
        if (parse_int64(p->values[i].text, p->values[i].len, &unused))
            continue;
        if (count++ > 0)
            strbuf_puts(&errors, ", ");
        strbuf_printf(&errors, "values[%zu]: Invalid value: ", i);
        put_quoted(&errors, p->values[i].text, p->values[i].len);
        strbuf_puts(&errors, ": for 'Gt', 'Lt' operators, the value must be an integer");
    }
    for (size_t i = 0; i < p->value_count; i++) {
        struct strbuf details = STRBUF_INIT(MESSAGE_MAX);
        int n = 0;
        if (check_label_value(p->values[i].text, p->values[i].len, &details) > 0) {
            if (count++ > 0)
                strbuf_puts(&errors, ", ");
            strbuf_printf(&errors, "values[%zu][", i);
            strbuf_add(&errors, key->text, key->len);
            strbuf_puts(&errors, "]: Invalid value: ");
            put_quoted(&errors, p->values[i].text, p->values[i].len);
            strbuf_puts(&errors, ": ");
            strbuf_puts(&errors, strbuf_str(&details));
            n = details.error;
        }
        strbuf_release(&details);
        if (n < 0 && errors.error == 0)
            errors.error = n;
    }
    if (count > 0) {
        strbuf_puts(&p->message, "unable to parse requirement: ");
        if (count > 1)
            strbuf_putc(&p->message, '[');
        strbuf_puts(&p->message, strbuf_str(&errors));
        if (count > 1)
            strbuf_putc(&p->message, ']');
        if (errors.error < 0 && p->message.error == 0)
            p->message.error = errors.error;
    }
    strbuf_release(&errors);
    return count > 0 ? -EINVAL : 0;
}

static void requirement_release(struct requirement *r)
{
    free(r->key);
    for (size_t i = 0; i < r->value_count; i++)
        free(r->values[i]);
    free(r->values);
    memset(r, 0, sizeof(*r));
}

/* Sorts and de-duplicates p->values (sets.String.List()). */
static void sort_values(struct label_parser *p)
{
    qsort(p->values, p->value_count, sizeof(p->values[0]), compare_slices);
    size_t kept = 0;
    for (size_t i = 0; i < p->value_count; i++)
        if (kept == 0 || compare_slices(&p->values[kept - 1], &p->values[i]) != 0)
            p->values[kept++] = p->values[i];
    p->value_count = kept;
}

/* Fills *r (owned by the caller; release with requirement_release even on failure). */
static int parse_requirement(struct label_parser *p, struct requirement *r)
{
    bool negated = false;
    struct token t = take(p, true);
    if (t.kind == TOKEN_NOT) {
        negated = true;
        t = take(p, true);
    }
    if (t.kind != TOKEN_IDENTIFIER)
        return found_error(p, true, t.literal, ", expected: identifier");
    struct slice key = t.literal;
    struct strbuf details = STRBUF_INIT(MESSAGE_MAX);
    if (check_label_key(key.text, key.len, &details) > 0) {
        strbuf_puts(&p->message, "unable to parse requirement: <nil>: Invalid value: ");
        put_quoted(&p->message, key.text, key.len);
        strbuf_puts(&p->message, ": ");
        strbuf_puts(&p->message, strbuf_str(&details));
        if (details.error < 0 && p->message.error == 0)
            p->message.error = details.error;
        strbuf_release(&details);
        return -EINVAL;
    }
    strbuf_release(&details);
    r->key = strndup(key.text, key.len);
    if (!r->key)
        return -ENOMEM;

    enum token_kind next = peek(p, true);
    if (negated || next == TOKEN_END || next == TOKEN_COMMA) {
        r->op = negated ? OPERATOR_DOES_NOT_EXIST : OPERATOR_EXISTS;
        return 0;
    }
    t = take(p, false);
    switch (t.kind) {
    case TOKEN_IN: r->op = OPERATOR_IN; break;
    case TOKEN_NOT_IN: r->op = OPERATOR_NOT_IN; break;
    case TOKEN_EQUALS: r->op = OPERATOR_EQUALS; break;
    case TOKEN_DOUBLE_EQUALS: r->op = OPERATOR_DOUBLE_EQUALS; break;
    case TOKEN_NOT_EQUALS: r->op = OPERATOR_NOT_EQUALS; break;
    case TOKEN_GREATER_THAN: r->op = OPERATOR_GREATER_THAN; break;
    case TOKEN_LESS_THAN: r->op = OPERATOR_LESS_THAN; break;
    default: return found_error(p, true, t.literal, ", expected: in, notin, =, ==, !=, gt, lt");
    }
    p->value_count = 0;
    int rc = r->op == OPERATOR_IN || r->op == OPERATOR_NOT_IN ? parse_value_set(p)
                                                              : parse_exact_value(p);
    if (rc < 0)
        return rc;
    sort_values(p);
    rc = check_values(p, &key, r->op);
    if (rc < 0)
        return rc;
    r->values = calloc(p->value_count, sizeof(r->values[0]));
    if (!r->values)
        return -ENOMEM;
    for (size_t i = 0; i < p->value_count; i++) {
        r->values[i] = strndup(p->values[i].text, p->values[i].len);
        if (!r->values[i])
            return -ENOMEM;
        r->value_count++;
    }
    if (r->op == OPERATOR_GREATER_THAN || r->op == OPERATOR_LESS_THAN)
        parse_int64(p->values[0].text, p->values[0].len, &r->number);
    return 0;
}

void k8s_label_selector_free(struct k8s_label_selector *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->count; i++)
        requirement_release(&sel->requirements[i]);
    free(sel->requirements);
    free(sel);
}

/* Lexes all of `text` into p->tokens, as upstream scans before it parses. */
static int scan(struct label_parser *p, const char *text, size_t len)
{
    /* Every token but the last takes at least one byte. */
    p->tokens = calloc(len + 1, sizeof(p->tokens[0]));
    p->values = calloc(2 * len + 2, sizeof(p->values[0]));
    if (!p->tokens || !p->values)
        return -ENOMEM;
    const char *pos = text;
    do {
        p->tokens[p->token_count] = lex(&pos);
    } while (p->tokens[p->token_count++].kind != TOKEN_END);
    return 0;
}

/* The grammar's outer loop: requirements separated by commas. */
static int parse_requirements(struct label_parser *p, struct k8s_label_selector *sel)
{
    size_t capacity = 0;
    for (;;) {
        enum token_kind kind = peek(p, true);
        if (kind == TOKEN_END)
            return 0;
        if (kind != TOKEN_IDENTIFIER && kind != TOKEN_NOT)
            return found_error(p, false, p->tokens[p->position].literal,
                               ", expected: !, identifier, or 'end of string'");
        if (sel->count == K8S_SELECTOR_REQUIREMENTS_MAX) {
            strbuf_printf(&p->message, "labelSelector has more than %d requirements",
                          K8S_SELECTOR_REQUIREMENTS_MAX);
            return -EINVAL;
        }
        if (sel->count == capacity) {
            size_t grown = capacity ? 2 * capacity : 4;
            struct requirement *r = realloc(sel->requirements, grown * sizeof(*r));
            if (!r)
                return -ENOMEM;
            sel->requirements = r;
            capacity = grown;
        }
        struct requirement *r = &sel->requirements[sel->count];
        memset(r, 0, sizeof(*r));
        int rc = parse_requirement(p, r);
        if (rc < 0) {
            requirement_release(r);
            return rc;
        }
        sel->count++;
        struct token t = take(p, true);
        if (t.kind == TOKEN_END)
            return 0;
        if (t.kind != TOKEN_COMMA)
            return found_error(p, false, t.literal, ", expected: ',' or 'end of string'");
        kind = peek(p, true);
        if (kind != TOKEN_IDENTIFIER && kind != TOKEN_NOT)
            return found_error(p, false, p->tokens[p->position].literal,
                               ", expected: identifier after ','");
    }
}

int k8s_label_selector_parse(const char *text, struct k8s_label_selector **out, struct error *err)
{
    *out = NULL;
    struct label_parser p = {.message = STRBUF_INIT(MESSAGE_MAX)};
    struct k8s_label_selector *sel = calloc(1, sizeof(*sel));
    size_t len = text ? strlen(text) : 0;
    int rc = -ENOMEM;
    if (!sel)
        goto fail;
    if (len > K8S_SELECTOR_TEXT_MAX) {
        strbuf_printf(&p.message, "labelSelector is longer than %d bytes", K8S_SELECTOR_TEXT_MAX);
        rc = -EINVAL;
        goto fail;
    }
    rc = scan(&p, text ? text : "", len);
    if (rc == 0)
        rc = parse_requirements(&p, sel);
    if (rc < 0)
        goto fail;
    free(p.tokens);
    free(p.values);
    strbuf_release(&p.message);
    *out = sel;
    return 0;

fail:
    free(p.tokens);
    free(p.values);
    k8s_label_selector_free(sel);
    if (rc == -EINVAL)
        return fail_with_message(&p.message, err);
    strbuf_release(&p.message);
    return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
}

bool k8s_label_selector_is_empty(const struct k8s_label_selector *sel)
{
    return !sel || sel->count == 0;
}

static bool has_value(const struct requirement *r, struct slice value)
{
    for (size_t i = 0; i < r->value_count; i++)
        if (slice_equals(value, r->values[i], strlen(r->values[i])))
            return true;
    return false;
}

static bool requirement_matches(const struct requirement *r, const json_t *labels)
{
    struct slice value;
    bool present = json_is_object(labels) && json_text(json_object_get(labels, r->key), &value);
    int64_t number;
    switch (r->op) {
    case OPERATOR_IN:
    case OPERATOR_EQUALS:
    case OPERATOR_DOUBLE_EQUALS: return present && has_value(r, value);
    case OPERATOR_NOT_IN:
    case OPERATOR_NOT_EQUALS: return !present || !has_value(r, value);
    case OPERATOR_EXISTS: return present;
    case OPERATOR_DOES_NOT_EXIST: return !present;
    case OPERATOR_GREATER_THAN:
        return present && parse_int64(value.text, value.len, &number) && number > r->number;
    case OPERATOR_LESS_THAN:
        return present && parse_int64(value.text, value.len, &number) && number < r->number;
    }
    return false;
}

bool k8s_label_selector_matches(const struct k8s_label_selector *sel, const json_t *labels)
{
    for (size_t i = 0; sel && i < sel->count; i++)
        if (!requirement_matches(&sel->requirements[i], labels))
            return false;
    return true;
}

/* ---- field selectors: the resources' field labels ---- */

/* Where a field's value comes from, as the registry's ToSelectableFields computes it. */
enum field_source {
    FIELD_STRING,          /* the string at `path`, "" when absent */
    FIELD_BOOL,            /* the boolean at `path` as "true"/"false", absent = "false" */
    FIELD_INT,             /* the integer at `path` in decimal, absent = "0" */
    FIELD_POD_IP,          /* status.podIP, else status.podIPs[0].ip (v1 -> internal) */
    FIELD_SERVICE_ACCOUNT, /* spec.serviceAccountName, else the deprecated spec.serviceAccount */
    FIELD_ABSENT,          /* accepted label, missing from the field set: always "" */
};

struct field_def {
    const char *label;
    enum field_source source;
    const char *path;
};

struct field_resource {
    const char *resource; /* core group plural */
    const struct field_def *fields;
    const char *alias, *alias_of; /* a label accepted as another one, or NULL */
};

static const struct field_def pod_fields[] = {
    {"metadata.name", FIELD_STRING, "metadata.name"},
    {"metadata.namespace", FIELD_STRING, "metadata.namespace"},
    {"spec.nodeName", FIELD_STRING, "spec.nodeName"},
    {"spec.restartPolicy", FIELD_STRING, "spec.restartPolicy"},
    {"spec.schedulerName", FIELD_STRING, "spec.schedulerName"},
    {"spec.serviceAccountName", FIELD_SERVICE_ACCOUNT, NULL},
    {"spec.hostNetwork", FIELD_BOOL, "spec.hostNetwork"},
    {"status.phase", FIELD_STRING, "status.phase"},
    {"status.podIP", FIELD_POD_IP, NULL},
    {"status.podIPs", FIELD_ABSENT, NULL},
    {"status.nominatedNodeName", FIELD_STRING, "status.nominatedNodeName"},
    {NULL, FIELD_ABSENT, NULL},
};

static const struct field_def node_fields[] = {
    {"metadata.name", FIELD_STRING, "metadata.name"},
    {"spec.unschedulable", FIELD_BOOL, "spec.unschedulable"},
    {NULL, FIELD_ABSENT, NULL},
};

static const struct field_def replication_controller_fields[] = {
    {"metadata.name", FIELD_STRING, "metadata.name"},
    {"metadata.namespace", FIELD_STRING, "metadata.namespace"},
    {"status.replicas", FIELD_INT, "status.replicas"},
    {NULL, FIELD_ABSENT, NULL},
};

static const struct field_def event_fields[] = {
    {"involvedObject.kind", FIELD_STRING, "involvedObject.kind"},
    {"involvedObject.namespace", FIELD_STRING, "involvedObject.namespace"},
    {"involvedObject.name", FIELD_STRING, "involvedObject.name"},
    {"involvedObject.uid", FIELD_STRING, "involvedObject.uid"},
    {"involvedObject.apiVersion", FIELD_STRING, "involvedObject.apiVersion"},
    {"involvedObject.resourceVersion", FIELD_STRING, "involvedObject.resourceVersion"},
    {"involvedObject.fieldPath", FIELD_STRING, "involvedObject.fieldPath"},
    {"reason", FIELD_STRING, "reason"},
    {"reportingComponent", FIELD_STRING, "reportingComponent"},
    {"source", FIELD_STRING, "source.component"},
    {"type", FIELD_STRING, "type"},
    {"metadata.namespace", FIELD_STRING, "metadata.namespace"},
    {"metadata.name", FIELD_STRING, "metadata.name"},
    {NULL, FIELD_ABSENT, NULL},
};

static const struct field_def namespace_fields[] = {
    {"status.phase", FIELD_STRING, "status.phase"},
    {"metadata.name", FIELD_STRING, "metadata.name"},
    {NULL, FIELD_ABSENT, NULL},
};

static const struct field_def secret_fields[] = {
    {"type", FIELD_STRING, "type"},
    {"metadata.namespace", FIELD_STRING, "metadata.namespace"},
    {"metadata.name", FIELD_STRING, "metadata.name"},
    {NULL, FIELD_ABSENT, NULL},
};

static const struct field_def service_fields[] = {
    {"metadata.namespace", FIELD_STRING, "metadata.namespace"},
    {"metadata.name", FIELD_STRING, "metadata.name"},
    {"spec.clusterIP", FIELD_STRING, "spec.clusterIP"},
    {"spec.type", FIELD_STRING, "spec.type"},
    {NULL, FIELD_ABSENT, NULL},
};

/* runtime.DefaultMetaV1FieldSelectorConversion: every kind without its own function. */
static const struct field_def default_fields[] = {
    {"metadata.name", FIELD_STRING, "metadata.name"},
    {"metadata.namespace", FIELD_STRING, "metadata.namespace"},
    {NULL, FIELD_ABSENT, NULL},
};

/* The core (group "") kinds of pkg/apis/core/v1/conversion.go. */
static const struct field_resource core_resources[] = {
    {"pods", pod_fields, "spec.host", "spec.nodeName"},
    {"nodes", node_fields, NULL, NULL},
    {"replicationcontrollers", replication_controller_fields, NULL, NULL},
    {"events", event_fields, NULL, NULL},
    {"namespaces", namespace_fields, NULL, NULL},
    {"secrets", secret_fields, NULL, NULL},
    {"services", service_fields, NULL, NULL},
    {NULL, NULL, NULL, NULL},
};

static const struct field_resource default_resource = {NULL, default_fields, NULL, NULL};

static const struct field_resource *find_resource(const char *resource, const char *group)
{
    if (group && group[0])
        return &default_resource;
    for (const struct field_resource *r = core_resources; r->resource && resource; r++)
        if (strcmp(r->resource, resource) == 0)
            return r;
    return &default_resource;
}

static const struct field_def *find_field(const struct field_resource *r, const char *label)
{
    if (r->alias && strcmp(label, r->alias) == 0)
        label = r->alias_of;
    for (const struct field_def *f = r->fields; f->label; f++)
        if (strcmp(f->label, label) == 0)
            return f;
    return NULL;
}

/* The value at a dotted path of objects, or NULL. */
static const json_t *json_at(const json_t *object, const char *path)
{
    const json_t *v = object;
    while (v && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        v = json_is_object(v) ? json_object_getn(v, path, n) : NULL;
        path += n + (dot ? 1 : 0);
    }
    return v;
}

/* The field's value as the registry's field set holds it; `buffer` holds numbers. */
static struct slice field_value(const struct field_def *f, const json_t *object, char buffer[32])
{
    struct slice s = {"", 0};
    const json_t *v;
    switch (f->source) {
    case FIELD_STRING: json_text(json_at(object, f->path), &s); break;
    case FIELD_BOOL:
        s.text = json_is_true(json_at(object, f->path)) ? "true" : "false";
        s.len = strlen(s.text);
        break;
    case FIELD_INT:
        v = json_at(object, f->path);
        snprintf(buffer, 32, "%lld", json_is_integer(v) ? (long long)json_integer_value(v) : 0LL);
        s.text = buffer;
        s.len = strlen(buffer);
        break;
    case FIELD_POD_IP:
        if (json_text(json_at(object, "status.podIP"), &s) && s.len > 0)
            break;
        s = (struct slice){"", 0};
        json_text(json_at(json_array_get(json_at(object, "status.podIPs"), 0), "ip"), &s);
        break;
    case FIELD_SERVICE_ACCOUNT:
        if (json_text(json_at(object, "spec.serviceAccountName"), &s) && s.len > 0)
            break;
        s = (struct slice){"", 0};
        json_text(json_at(object, "spec.serviceAccount"), &s);
        break;
    case FIELD_ABSENT: break;
    }
    return s;
}

/* ---- field selectors: the parser ---- */

struct field_term {
    char *label; /* as written */
    char *value; /* unescaped */
    size_t value_len;
    bool negated;                /* != */
    const struct field_def *def; /* after the resource check */
};

struct k8s_field_selector {
    size_t count;
    struct field_term *terms; /* in upstream's (sorted) order */
};

void k8s_field_selector_free(struct k8s_field_selector *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->count; i++) {
        free(sel->terms[i].label);
        free(sel->terms[i].value);
    }
    free(sel->terms);
    free(sel);
}

/* splitTerms: commas not preceded by an escaping backslash. Returns how many terms it wrote
 * (`terms` may be NULL to count). */
static size_t split_terms(const char *text, size_t len, struct slice *terms)
{
    size_t count = 0, start = 0;
    bool in_slash = false;
    for (size_t i = 0; i < len; i++) {
        if (in_slash)
            in_slash = false;
        else if (text[i] == '\\')
            in_slash = true;
        else if (text[i] == ',') {
            if (terms)
                terms[count] = (struct slice){text + start, i - start};
            count++;
            start = i + 1;
        }
    }
    if (terms)
        terms[count] = (struct slice){text + start, len - start};
    return count + 1;
}

/* splitTerm: the first place where "!=", "==" or "=" starts (checked in that order). */
static bool split_term(struct slice term, struct slice *label, struct slice *rhs, bool *negated)
{
    for (size_t i = 0; i < term.len; i++) {
        size_t op_len = 0;
        if (term.text[i] == '!' && i + 1 < term.len && term.text[i + 1] == '=')
            op_len = 2, *negated = true;
        else if (term.text[i] == '=')
            op_len = i + 1 < term.len && term.text[i + 1] == '=' ? 2 : 1, *negated = false;
        if (op_len) {
            *label = (struct slice){term.text, i};
            *rhs = (struct slice){term.text + i + op_len, term.len - i - op_len};
            return true;
        }
    }
    return false;
}

/* UnescapeValue into *out (caller owns). Returns 0, -EINVAL with the message in `msg`, or
 * -ENOMEM. Like Go's `range`, it rewrites invalid UTF-8 as U+FFFD, but only when the value
 * holds a `\`, `,` or `=` (otherwise upstream returns the string untouched). */
static int unescape_value(struct slice rhs, char **out, size_t *out_len, struct strbuf *msg)
{
    struct strbuf value = STRBUF_INIT(K8S_SELECTOR_TEXT_MAX * 3);
    bool special = false;
    for (size_t i = 0; i < rhs.len; i++)
        special |= rhs.text[i] == '\\' || rhs.text[i] == ',' || rhs.text[i] == '=';
    if (!special) {
        strbuf_add(&value, rhs.text, rhs.len);
        return strbuf_finish(&value, out, out_len);
    }
    bool in_slash = false;
    const unsigned char *p = (const unsigned char *)rhs.text;
    size_t left = rhs.len;
    while (left > 0) {
        uint32_t rune;
        bool valid;
        size_t n = go_utf8_next(p, left, &rune, &valid);
        const char *bytes = valid ? (const char *)p : "\xEF\xBF\xBD";
        size_t bytes_len = valid ? n : 3;
        if (in_slash) {
            if (rune != '\\' && rune != ',' && rune != '=') {
                strbuf_puts(msg, "invalid field selector: invalid escape sequence: \\");
                strbuf_add(msg, bytes, bytes_len);
                strbuf_release(&value);
                return -EINVAL;
            }
            strbuf_add(&value, bytes, bytes_len);
            in_slash = false;
        } else if (rune == '\\') {
            in_slash = true;
        } else if (rune == ',' || rune == '=') {
            strbuf_printf(msg, "invalid field selector: unescaped character in value: %u",
                          (unsigned)rune);
            strbuf_release(&value);
            return -EINVAL;
        } else {
            strbuf_add(&value, bytes, bytes_len);
        }
        p += n;
        left -= n;
    }
    if (in_slash) {
        strbuf_puts(msg, "invalid field selector: invalid escape sequence: \\");
        strbuf_release(&value);
        return -EINVAL;
    }
    return strbuf_finish(&value, out, out_len);
}

/* fields.ParseSelector: the terms of `text` in sorted order, without the resource check. */
static int parse_terms(const char *text, struct k8s_field_selector *sel, struct strbuf *msg)
{
    size_t len = text ? strlen(text) : 0;
    if (len > K8S_SELECTOR_TEXT_MAX) {
        strbuf_printf(msg, "fieldSelector is longer than %d bytes", K8S_SELECTOR_TEXT_MAX);
        return -EINVAL;
    }
    if (len == 0)
        return 0;
    size_t count = split_terms(text, len, NULL);
    struct slice *parts = calloc(count, sizeof(*parts));
    if (!parts)
        return -ENOMEM;
    split_terms(text, len, parts);
    qsort(parts, count, sizeof(*parts), compare_slices);
    size_t wanted = 0;
    for (size_t i = 0; i < count; i++)
        wanted += parts[i].len > 0;
    int rc = -EINVAL;
    if (wanted > K8S_SELECTOR_REQUIREMENTS_MAX) {
        strbuf_printf(msg, "fieldSelector has more than %d terms", K8S_SELECTOR_REQUIREMENTS_MAX);
        goto done;
    }
    rc = -ENOMEM;
    sel->terms = calloc(wanted ? wanted : 1, sizeof(sel->terms[0]));
    if (!sel->terms)
        goto done;
    for (size_t i = 0; i < count; i++) {
        if (parts[i].len == 0)
            continue;
        struct slice label, rhs;
        bool negated = false;
        if (!split_term(parts[i], &label, &rhs, &negated)) {
            strbuf_printf(msg, "invalid selector: '%s'; can't understand '", text);
            strbuf_add(msg, parts[i].text, parts[i].len);
            strbuf_putc(msg, '\'');
            rc = -EINVAL;
            goto done;
        }
        struct field_term *t = &sel->terms[sel->count];
        rc = unescape_value(rhs, &t->value, &t->value_len, msg);
        if (rc < 0)
            goto done;
        t->negated = negated;
        t->label = strndup(label.text, label.len);
        sel->count++;
        rc = -ENOMEM;
        if (!t->label)
            goto done;
    }
    rc = 0;
done:
    free(parts);
    return rc;
}

int k8s_field_selector_parse(const char *text, const char *resource, const char *group,
                             struct k8s_field_selector **out, struct error *err)
{
    *out = NULL;
    struct strbuf msg = STRBUF_INIT(MESSAGE_MAX);
    struct k8s_field_selector *sel = calloc(1, sizeof(*sel));
    int rc = -ENOMEM;
    if (!sel)
        goto fail;
    rc = parse_terms(text, sel, &msg);
    if (rc < 0)
        goto fail;
    /* Transform: every term's label through the kind's conversion function, in order. */
    const struct field_resource *r = find_resource(resource, group);
    for (size_t i = 0; i < sel->count; i++) {
        struct field_term *t = &sel->terms[i];
        t->def = find_field(r, t->label);
        if (t->def)
            continue;
        if (r == &default_resource) {
            put_quoted(&msg, t->label, strlen(t->label));
            strbuf_puts(&msg, " is not a known field selector: only \"metadata.name\", "
                              "\"metadata.namespace\"");
        } else {
            strbuf_printf(&msg, "field label not supported: %s", t->label);
        }
        rc = -EINVAL;
        goto fail;
    }
    strbuf_release(&msg);
    *out = sel;
    return 0;

fail:
    k8s_field_selector_free(sel);
    if (rc == -EINVAL)
        return fail_with_message(&msg, err);
    strbuf_release(&msg);
    return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
}

bool k8s_field_selector_matches(const struct k8s_field_selector *sel, const json_t *object)
{
    for (size_t i = 0; sel && i < sel->count; i++) {
        const struct field_term *t = &sel->terms[i];
        char buffer[32];
        struct slice value = field_value(t->def, object, buffer);
        bool equal = slice_equals(value, t->value, t->value_len);
        if (equal == t->negated)
            return false;
    }
    return true;
}

const char *k8s_field_selector_exact_match(const struct k8s_field_selector *sel, const char *label)
{
    for (size_t i = 0; sel && i < sel->count; i++) {
        const struct field_term *t = &sel->terms[i];
        const char *name = t->def ? t->def->label : t->label;
        if (!t->negated && strcmp(name, label) == 0)
            return t->value;
    }
    return NULL;
}

bool k8s_field_selector_is_empty(const struct k8s_field_selector *sel)
{
    return !sel || sel->count == 0;
}

/* path.IsValidPathSegmentName. */
static bool is_path_segment(const char *name)
{
    return strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && !strchr(name, '/') &&
           !strchr(name, '%');
}

int k8s_field_selector_request_name(const char *text, char **name)
{
    *name = NULL;
    struct strbuf msg = STRBUF_INIT(MESSAGE_MAX);
    struct k8s_field_selector sel = {0};
    int rc = parse_terms(text, &sel, &msg);
    strbuf_release(&msg);
    const char *pinned = rc == 0 ? k8s_field_selector_exact_match(&sel, "metadata.name") : NULL;
    if (pinned && pinned[0] && is_path_segment(pinned)) {
        *name = strdup(pinned);
        if (!*name)
            rc = -ENOMEM;
    }
    for (size_t i = 0; i < sel.count; i++) {
        free(sel.terms[i].label);
        free(sel.terms[i].value);
    }
    free(sel.terms);
    return rc == -ENOMEM ? -ENOMEM : 0;
}
