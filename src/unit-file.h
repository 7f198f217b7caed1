/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Reading systemd unit files exactly the way systemd's own parser (config_parse()) does, so that a
 * check of the settings sees every assignment the service manager will apply, and only those:
 *
 *   - lines end at \n, \r or a NUL byte (and at \r\n, \n\r and such pairs as one terminator);
 *   - a line whose first non-blank character is '#' or ';' is a comment, also in the middle of a
 *     continuation, where it is skipped and the continuation goes on;
 *   - an odd number of trailing backslashes continues the line on the next one, the last
 *     backslash becoming a space;
 *   - one UTF-8 byte order mark is skipped at the start of the first line that has one;
 *   - "[Name]" starts a section, "Key=Value" is an assignment, both stripped of spaces and tabs;
 *   - lines without '=', with an empty key or outside any section are ignored, as systemd does.
 *
 * What makes systemd refuse the whole file is reported as an error, so that the caller can refuse
 * it too: an over-long line, a section header without ']', and an ".include" line (which old
 * systemd versions followed to another file on the host). */

/* Logical lines of this length or longer make systemd refuse the file (LONG_LINE_MAX). */
#define UNIT_FILE_LINE_MAX (1024U * 1024U)

/* Called for every assignment inside a section: key and value stripped of surrounding blanks,
 * line is the line the assignment starts on (1-based). Returns < 0 to abort with that error,
 * > 0 to stop and make unit_file_parse() return that value, 0 to go on. */
typedef int (*UnitFileAssignment)(const char *section, const char *key, const char *value, unsigned line,
                                  void *userdata);

/* Parses size bytes of data (NUL bytes allowed, no terminator needed). Returns 0 when the whole
 * file was read, what fn returned when it stopped, or: -ENOBUFS (a line too long), -EBADMSG (a
 * section header without ']'), -ENOEXEC (an ".include" line), -ENOMEM. On those three errors
 * *ret_error_line (if non-NULL) is the line. */
int unit_file_parse(const char *data, size_t size, UnitFileAssignment fn, void *userdata,
                    unsigned *ret_error_line);

/* The next word of *p as systemd's extract_first_word() with EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE
 * returns it (after its relaxed retry): leading blanks skipped, single and double quotes removed,
 * C escapes (\n, \s, \x2b, \053, \u002b, ...) decoded, unknown escapes kept verbatim. An
 * unterminated quote or a trailing backslash ends the word. Returns 1 and the word, 0 at the end
 * of the string (*ret = NULL), -ENOMEM. */
int unit_file_extract_word(const char **p, char **ret);

/* The privilege prefix of the commands of an Exec*= line, as systemd reads it: the prefix
 * characters ("-@:+!|", in any order) of the first word of each command, after quotes are removed
 * and escapes decoded. Commands are separated by a lone ";": every word that is a lone ";" is
 * taken as a separator here, which finds every command systemd finds, and maybe more. Returns 0
 * and in *ret "+" (full privileges, no sandbox), "!!" or "!" (no change of user) for the first
 * command that has one, or NULL; -ENOMEM. */
int unit_file_command_privilege(const char *value, const char **ret);
