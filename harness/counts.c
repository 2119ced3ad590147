/* counts.c - measuring fake statistics and self-metrics (see counts.h). */
#include "counts.h"

#include <stdio.h>
#include <string.h>

#include "promtext.h"

int counts_measure(struct run_ctx *ctx, const struct count_check *checks, size_t n,
                   struct count_value *out, struct error *err)
{
    json_t *stats = NULL;
    json_t *views[FAKE_COUNT] = {NULL};
    struct promtext metrics = {0};
    bool scraped = false;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct count_check *c = &checks[i];
        out[i].present = true;
        out[i].value = 0;
        if (!c->collector) {
            rc = fakes_client_count(&ctx->fakes, c->fake, c->key, &stats, &views[c->fake],
                                    &out[i].value, err);
            continue;
        }
        if (!scraped) {
            if ((rc = collector_scrape(&ctx->collector, &metrics, err)) < 0)
                break;
            scraped = true;
        }
        rc = promtext_sum(&metrics, c->key, &out[i].value, &out[i].present, err);
    }
    json_decref(stats);
    for (int f = 0; f < FAKE_COUNT; f++)
        json_decref(views[f]);
    promtext_free(&metrics);
    return rc;
}

void counts_describe(const struct count_check *c, const struct count_value *v, bool with_want,
                     char *buf, size_t size)
{
    char value[64], want[64];
    condition_format_number(v->value, value, sizeof(value));
    condition_format(&c->cond, want, sizeof(want));
    if (c->collector)
        snprintf(buf, size, "%s = %s%s%s%s%s", c->key, value, v->present ? "" : " (absent",
                 with_want ? (v->present ? " (want " : "; want ") : "", with_want ? want : "",
                 with_want || !v->present ? ")" : "");
    else
        snprintf(buf, size, "%s.%s = %s%s%s%s", scenario_fake_name(c->fake), c->label, value,
                 with_want ? " (want " : "", with_want ? want : "", with_want ? ")" : "");
}
