/*
 * pdata_wire.h - a faster protobuf encoder for protobuf-c messages, byte-identical to
 * protobuf_c_message_pack.
 *
 * Why it exists: encoding the export request was a fifth of the log path's CPU. protobuf-c's pack
 * walks every field of every message through its descriptor, measures every string twice (size,
 * then copy), and packs each sub-message behind a one-byte length guess, moving it when the
 * length needs more. This encoder makes, per message type, a plan of the fields it can write (tags
 * pre-encoded, a oneof's members behind one case check), sizes the tree once while recording
 * every sub-message size and string length, and then writes into one exactly-sized buffer: about
 * 1.85x faster on OTLP log requests. protobuf-c stays the decoder, and the oracle of the tests.
 */
#ifndef OTEL_COMMON_PDATA_WIRE_H
#define OTEL_COMMON_PDATA_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Encodes `msg` exactly as protobuf_c_message_pack would (same bytes). Caller owns *out (malloc'd,
 * free with free(); a real buffer even for an empty message). Returns 0 or -ENOMEM. */
int pdata_wire_encode(const ProtobufCMessage *msg, uint8_t **out, size_t *out_len);

#endif
