/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "image-layout.h"
#include "extension-release.h"
#include "macro.h"

/* What an image holds for us: its os-release and its matching unit files, copied out of the image
 * so that nothing refers back into it. */

/* A requested path with this prefix asks for an executable: it is reported missing (as requested,
 * prefix included) unless the path after the prefix is a regular file with an execute bit,
 * symlinks followed inside the image. */
#define IMAGE_CHECK_EXECUTABLE "x:"

typedef struct PortableFile {
        char *name;   /* unit name, or the os-release path inside the image */
        char *data;   /* contents, NUL-terminated */
        size_t size;
        char *source; /* host path of the file, only for regular files of directory images */
        size_t layer; /* the layer of a stacked image it came from: 0 the root image, i the i-th extension */
} PortableFile;

typedef struct PortableMetadata {
        PortableFile os_release;
        char **os_release_pairs;
        PortableFile *units; /* sorted by name */
        size_t n_units;
        char **warnings;     /* things skipped that the user may want to know about */
        char **missing;      /* requested paths that do not exist in the image (as requested) */
        ImageLayout *layout; /* raw images and block devices: partitions, verity, the pinned policy */

        /* An extension layer (ImageReadRequest.extension): os_release is then its
         * extension-release file, found as extension-release.h describes. */
        bool extension;
        ExtensionClass extension_class;
        ExtensionReleaseMatch extension_match;
} PortableMetadata;

PortableMetadata *portable_metadata_free(PortableMetadata *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(PortableMetadata *, portable_metadata_free);

/* Frees an array of n metadata and the array. */
PortableMetadata **portable_metadata_free_many(PortableMetadata **m, size_t n);

int portable_metadata_new(PortableMetadata **ret);

/* A deep copy: nothing of it refers to m. */
int portable_metadata_copy(const PortableMetadata *m, PortableMetadata **ret);

/* Roughly how many bytes m holds (file contents, names, lists): what keeping it costs. */
size_t portable_metadata_size(const PortableMetadata *m);

/* Takes ownership of data and source (both on failure too). -EEXIST if the unit is there. The
 * units stay sorted by name. */
int portable_metadata_add_unit(PortableMetadata *m, const char *name, char *data, size_t size, char *source);

/* Takes ownership of data. Parses it. */
int portable_metadata_set_os_release(PortableMetadata *m, const char *name, char *data, size_t size);

int portable_metadata_add_warning(PortableMetadata *m, const char *format, ...) _printf_(2, 3);

const PortableFile *portable_metadata_find_unit(const PortableMetadata *m, const char *name);
