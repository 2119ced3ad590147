/*
 * prometheus_names.h - how Prometheus 3 names what arrives over OTLP: metric names with unit and
 * type suffixes, unit names, label names, label values, and the Go number and string formatting
 * that ends up in labels and error texts.
 *
 * Mirrors the default translation strategy `UnderscoreEscapingWithSuffixes` of
 * otlptranslator@v1.0.0 (metric_namer.go, unit_namer.go, label_namer.go, strconv.go), as
 * prom@v3.9.1 (storage/remote/otlptranslator/prometheusremotewrite/metrics_to_prw.go, helper.go)
 * configures it: no namespace, label_name_underscore_sanitization true,
 * label_name_preserve_multiple_underscores true. The other strategies (UTF-8 names, no suffixes)
 * are not implemented.
 *
 * Every function that returns a string returns a malloc'd one the caller owns (free()).
 */
#ifndef OTEL_FAKES_PROMETHEUS_NAMES_H
#define OTEL_FAKES_PROMETHEUS_NAMES_H

#include <stddef.h>

#include "error.h"
#include "pdata.h"

/* otlptranslator.MetricType: the OTLP metric kinds the namer tells apart. */
enum prometheus_metric_type {
    PROMETHEUS_METRIC_TYPE_UNKNOWN = 0,
    PROMETHEUS_METRIC_TYPE_GAUGE,
    PROMETHEUS_METRIC_TYPE_MONOTONIC_COUNTER,     /* Sum with is_monotonic */
    PROMETHEUS_METRIC_TYPE_NON_MONOTONIC_COUNTER, /* Sum without */
    PROMETHEUS_METRIC_TYPE_HISTOGRAM,
    PROMETHEUS_METRIC_TYPE_EXPONENTIAL_HISTOGRAM,
    PROMETHEUS_METRIC_TYPE_SUMMARY,
};

/* MetricNamer.Build: the metric family name of an OTLP metric ("http.server.request.duration",
 * "s", histogram -> "http_server_request_duration_seconds"). Returns 0, -EINVAL when the result
 * is empty or only underscores (err holds upstream's words, e.g.
 * `normalization for metric "@#" resulted in empty name`), or -ENOMEM. */
int prometheus_build_metric_name(const char *name, const char *unit,
                                 enum prometheus_metric_type type, char **out, struct error *err);

/* UnitNamer.Build: the unit as Prometheus metadata shows it ("By/s" -> "bytes_per_second",
 * "1" -> "", "{request}" -> ""). Returns 0 or -ENOMEM. */
int prometheus_build_unit_name(const char *unit, char **out);

/* LabelNamer.Build: a label name from an attribute key ("http.method" -> "http_method",
 * "123" -> "key_123", "_x" -> "key_x"). Returns 0, -EINVAL (empty key, or a result made only of
 * underscores; message in err), or -ENOMEM. */
int prometheus_build_label_name(const char *key, char **out, struct error *err);

/* pcommon.Value.AsString: the label value of an attribute value (strings as they are, ints in
 * decimal, doubles as JSON numbers, bytes as base64, maps and arrays as JSON). A NULL value gives
 * "". Returns 0 or -ENOMEM. */
int prometheus_attribute_as_string(const otlp_anyvalue *value, char **out);

/* strconv.FormatFloat(v, format, -1, 64) for format 'e', 'f' or 'g': the shortest decimal that
 * reads back as `v`, "+Inf", "-Inf", "NaN". 'f' is what Prometheus puts in `le` and `quantile`
 * labels, 'g' is Go's %g in error texts. Writes a NUL-terminated string of at most
 * PROMETHEUS_FLOAT_TEXT_MAX - 1 characters; returns its length or -EINVAL for another format. */
#define PROMETHEUS_FLOAT_TEXT_MAX 400
int prometheus_format_float(double v, char format, char buf[PROMETHEUS_FLOAT_TEXT_MAX]);

#endif
