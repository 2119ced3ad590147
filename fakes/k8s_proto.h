/*
 * k8s_proto.h - the Kubernetes protobuf wire form of a request body, for the few requests
 * clients send only that way.
 *
 * client-go sends built-in types as protobuf when it prefers to (kubectl does for its access
 * reviews: `kubectl auth can-i` posts a SelfSubjectAccessReview as
 * application/vnd.kubernetes.protobuf and does not fall back to JSON on a 415). The body is the
 * 4-byte magic "k8s\0" and a runtime.Unknown {typeMeta{apiVersion, kind}, raw, contentEncoding,
 * contentType} whose `raw` is the object (k8s.io/apimachinery runtime/serializer/protobuf,
 * runtime/generated.proto; the review's fields from k8s.io/api authorization/v1/generated.proto).
 *
 * Only what the fake needs is decoded: a SelfSubjectAccessReview's spec, into the JSON object
 * the JSON path would have read. Anything else is -ENOTSUP, and the caller answers 415 as the
 * API server does for a body it cannot decode.
 */
#ifndef OTEL_FAKES_K8S_PROTO_H
#define OTEL_FAKES_K8S_PROTO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define K8S_PROTOBUF_MEDIA_TYPE "application/vnd.kubernetes.protobuf"

/* Decodes `body` (borrowed) into a new JSON object (caller owns): 0; -ENOTSUP for a kind this
 * module does not decode (err says which); -EBADMSG for bytes that are not the envelope or not
 * valid protobuf; -ENOMEM. */
int k8s_proto_decode(const uint8_t *body, size_t len, json_t **out, struct error *err);

#endif
