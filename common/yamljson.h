/*
 * yamljson.h - YAML (libyaml) into jansson json_t: the one data model for configs, scenarios,
 * Kubernetes objects and goldens (DESIGN.md §3).
 *
 * Plain scalars are typed the way Go's yaml.v3 (which the collector's confmap uses) types them:
 * null/~/empty -> null, true/false -> boolean, decimal/0x/0o integers -> integer, floats
 * (incl. .inf/.nan) -> real, anything else -> string. Quoted and block scalars are always
 * strings. Anchors, aliases and `<<` merge keys are supported.
 *
 * Line numbers are kept in a side table so that errors can say "file:line": see yaml_lines_*.
 */
#ifndef OTEL_COMMON_YAMLJSON_H
#define OTEL_COMMON_YAMLJSON_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

struct yaml_lines;

/* Parses every document of `text`. With one document *out is that document; with several it is
 * a JSON array of them (Kubernetes manifests); with none it is null. `name` is used in error
 * messages ("scenario.yaml:12: ..."). `lines` may be NULL when line numbers are not wanted.
 * Caller owns *out (json_decref) and *lines (yaml_lines_free). Returns 0 or -EINVAL/-ENOMEM. */
int yamljson_parse(const char *text, size_t len, const char *name, json_t **out,
                   struct yaml_lines **lines, struct error *err);

/* Reads and parses a file. -ENOENT etc. with the path in the message. */
int yamljson_load_file(const char *path, json_t **out, struct yaml_lines **lines,
                       struct error *err);

/* Parses one scalar as YAML would type it (used by --set values). Caller owns the result. */
json_t *yamljson_scalar(const char *text);

/* The 1-based line where `node` (an object or array) starts, 0 when unknown. */
int yaml_lines_of_node(const struct yaml_lines *lines, const json_t *node);
/* The line of the key `key` of `object`, 0 when unknown. */
int yaml_lines_of_key(const struct yaml_lines *lines, const json_t *object, const char *key);
/* The line of element `index` of `array`, 0 when unknown. */
int yaml_lines_of_index(const struct yaml_lines *lines, const json_t *array, size_t index);
/* The file name given to yamljson_parse/_load_file. */
const char *yaml_lines_name(const struct yaml_lines *lines);

void yaml_lines_free(struct yaml_lines *lines);

#endif
