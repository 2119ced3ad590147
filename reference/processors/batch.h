/*
 * batch.h - the `batch` processor's descriptor (core@v0.144.0 processor/batchprocessor); see
 * batch.c for its rules and what it deliberately does not do.
 */
#ifndef OTEL_REF_BATCH_H
#define OTEL_REF_BATCH_H

#include "component.h"

extern const struct component_descriptor batch_processor_descriptor;

#endif
