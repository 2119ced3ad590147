/*
 * checkpointed.h - whether the collector's storage says it has read a pod log file to its end.
 *
 * Why: the filelog receiver hands the records of a poll downstream first and saves its offsets
 * at the end of that poll (facts/receivers.md §2; fileconsumer's checkpoint.Save). A scenario
 * that kills the collector to show what a restart repeats or loses must kill it after the save,
 * and on a busy machine the collector's poll thread can be paused between the two for longer
 * than the harness takes to see the records counted and send the signal. Nothing on the wire
 * shows the save; the storage extension's files do.
 *
 * How: upstream's checkpoint is JSON, one reader.Metadata object per line with the file's
 * attributes and its `"Offset"`, stored as it is by file_storage (bbolt in upstream, otelcol-ref's
 * own file format here: both keep values as written). The file counts as checkpointed when a
 * line in any file of the storage directories holds `"Offset":<the file's size now>` and the
 * file's `"log.file.path"` (with include_file_path, as the team's config) or, without it, its
 * `"log.file.name"`. Its size only grows between rotations, so an offset equal to it was saved
 * after the last line was written: a stale copy of an older value (bbolt keeps freed pages)
 * cannot match.
 *
 * Local runs only: the harness must see the collector's storage directory.
 */
#ifndef HARNESS_CHECKPOINTED_H
#define HARNESS_CHECKPOINTED_H

#include <stdbool.h>
#include <stddef.h>

/* True when a file in one of `dirs` (their regular files, not recursively) holds the offset of
 * `path` at its current size, as above. Writes what it saw into `seen` ("checkpointed at 1180
 * bytes", "checkpoint at 960 of 1180 bytes", "no checkpoint"). */
bool checkpointed_file(const char *const *dirs, size_t ndirs, const char *path, char *seen,
                       size_t seen_size);

#endif
