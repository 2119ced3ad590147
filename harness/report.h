/*
 * report.h - the report folder of a run (DESIGN.md §5):
 *
 *   <report root>/NAME/result.json   steps, timings, checks, counts, finding and evidence
 *   <report root>/NAME/diff          every golden mismatch, by path
 *   <report root>/NAME/actual/VIEW.json the masked views as they were, canonical
 *   <report root>/NAME/collector.log, fakes.log
 *   <report root>/junit.xml          one testcase per scenario, for CI
 *   <report root>/findings.md        every scenario's finding with its measured evidence
 *
 * junit.xml and findings.md are rebuilt from every NAME/result.json under the root after each
 * run, under an flock, so scenarios run one by one (ctest -j, each its own process) still add
 * up to one complete report.
 */
#ifndef HARNESS_REPORT_H
#define HARNESS_REPORT_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

/* Empties (or creates) <root>/<name>/ and puts its path in `out`. */
int report_prepare_dir(const char *root, const char *name, char *out, size_t size,
                       struct error *err);

/* Writes result.json (canonical text). */
int report_write_result(const char *dir, const json_t *result, struct error *err);

/* Rebuilds junit.xml and findings.md of `root` from its NAME/result.json files. */
int report_aggregate(const char *root, struct error *err);

/* rm -rf, refusing "/" and "". Returns 0 or -errno. */
int report_remove_tree(const char *path);

/* XML text escaping into `out` (bounded), for junit.xml; exposed for tests. */
void report_xml_escape(const char *in, char *out, size_t size);

#endif
