/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>

#include "portable-limits.h"
#include "dropin.h"
#include "extension-compat.h"
#include "extension-merge.h"
#include "fd-util.h"
#include "fileio.h"
#include "image-copy.h"
#include "image-metadata.h"
#include "image-policy.h"
#include "os-release.h"
#include "path-util.h"
#include "portable-bus.h"
#include "portable-error.h"
#include "portable.h"
#include "profile.h"
#include "profile-requirements.h"
#include "strv.h"
#include "unit-file-check.h"
#include "unit-match.h"

/* "'/x/base.raw'" or "'/x/base.raw' or any of its extensions '/x/app.raw, /x/conf'", for messages. */
static char *stack_label(const PortableStack *stack) {
        _cleanup_free_ char *list = NULL;
        char *label = NULL;

        for (size_t i = 0; i < stack->n_extensions; i++) {
                char *joined = NULL;

                if (asprintf(&joined, "%s%s%s", strempty(list), list ? ", " : "", stack->extensions[i]->path) < 0)
                        return NULL;
                free_and_replace(list, joined);
        }
        if (asprintf(&label, "'%s'%s%s%s", stack->image->path, list ? " or any of its extensions '" : "",
                     strempty(list), list ? "'" : "") < 0)
                return NULL;
        return label;
}

int portable_stack_check_distinct(const PortableStack *stack, sd_bus_error *reterr) {
        for (size_t i = 0; i < stack->n_extensions; i++) {
                const char *path = stack->extensions[i]->path;

                if (streq(path, stack->image->path))
                        return portable_error(reterr, EINVAL, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s' is given as its own extension, refusing.", path);
                for (size_t k = 0; k < i; k++)
                        if (streq(path, stack->extensions[k]->path))
                                return portable_error(reterr, EINVAL, SD_BUS_ERROR_INVALID_ARGS,
                                                      "Extension '%s' is given more than once, refusing.", path);
        }
        return 0;
}

/* Every extension's release file must suit the image's os-release, in the order given. */
static int check_compatibility(const PortableStack *stack, const PortableMetadata * const *layers,
                               sd_bus_error *reterr) {
        int r;

        for (size_t i = 0; i < stack->n_extensions; i++) {
                const PortableMetadata *ext = layers[i + 1];

                if (!ext->extension)
                        return portable_error(reterr, EINVAL, NULL, "Image '%s' was not read as an extension.",
                                              stack->extensions[i]->path);
                r = extension_compat_check(layers[0]->os_release_pairs, ext->os_release_pairs, ext->extension_class,
                                           /* host_architecture= */ NULL, stack->image->path,
                                           stack->extensions[i]->path, reterr);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_metadata(const PortableStack *stack, const PortableMetadata * const *layers,
                          const PortableMetadata *m, char * const *matches, sd_bus_error *reterr) {
        _cleanup_strv_free_ char **valid_prefixes = NULL;
        _cleanup_free_ char *label = NULL;
        const char *id;
        int r;

        id = os_release_pairs_get(layers[0]->os_release_pairs, "ID");
        if (isempty(id))
                return portable_error(reterr, ESTALE, NULL, "Image %s os-release metadata lacks the ID field",
                                      stack->image->path);

        r = check_compatibility(stack, layers, reterr);
        if (r < 0)
                return r;

        label = stack_label(stack);
        if (!label)
                return -ENOMEM;

        /* PORTABLE_PREFIXES= of every layer together; none declared: any match goes. */
        r = extension_merge_prefixes(layers, 1 + stack->n_extensions, &valid_prefixes);
        if (r < 0)
                return r;
        if (strv_length(valid_prefixes) > 0)
                STRV_FOREACH(match, (char **) matches)
                        if (!strv_contains(valid_prefixes, *match)) {
                                _cleanup_free_ char *requested = strv_join((char **) matches, ", ");
                                _cleanup_free_ char *acceptable = strv_join(valid_prefixes, ", ");

                                return portable_error(reterr, EINVAL, SD_BUS_ERROR_INVALID_ARGS,
                                                      "Selected matches '%s' are not compatible with portable service image %s, refusing. (Acceptable prefix matches are: %s)",
                                                      strempty(requested), label, strempty(acceptable));
                        }

        if (m->n_units == 0)
                return portable_error(reterr, ENOENT, SD_BUS_ERROR_INVALID_ARGS,
                                      "Couldn't find any matching unit files in image %s, refusing.", label);
        return 0;
}

static int check_profile(const Host *host, const char *profile, sd_bus_error *reterr) {
        _cleanup_free_ char *path = NULL;
        _cleanup_strv_free_ char **available = NULL;
        _cleanup_free_ char *list = NULL;
        int r;

        if (isempty(profile))
                return 0;

        if (profile_is_path(profile)) {
                r = profile_path_check(profile, reterr);
                if (r < 0)
                        return r;
        }

        r = profile_find_dropin(host, profile, "check.service", &path);
        if (r >= 0)
                return 0;
        if (r != -ENOENT && r != -EINVAL)
                return portable_error(reterr, r, NULL, "Profile '%s' is not accessible: %m", profile);

        /* systemd attaches silently without a profile here; a typo must not run a service
         * unconfined, so we refuse. */
        (void) profile_list(host, &available);
        list = strv_join(available, ", ");
        return portable_error(reterr, ENOENT, SD_BUS_ERROR_INVALID_ARGS,
                              "Profile '%s' does not exist (available profiles: %s).", profile,
                              isempty(list) ? "none" : list);
}

/* Returns 0 if nothing is in the way. In a dry run, every conflict is added to the plan as a
 * PORTABLE_CONFLICT change and the number of them is returned; otherwise the first one fails.
 * -EAGAIN if the host could not yet say whether some units are active: it has been told about all
 * of them, so that the service manager is asked once, not once per unit. */
static int check_conflicts(Transaction *t, const Host *host, const PortableMetadata *m, PortableFlags flags,
                           sd_bus_error *reterr) {
        _cleanup_free_ const char **names = calloc(m->n_units ?: 1, sizeof(char *));
        _cleanup_free_ bool *exists = calloc(m->n_units ?: 1, sizeof(bool));
        unsigned n_unknown = 0;
        int r, n = 0;

        if (!names || !exists)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_units; i++)
                names[i] = m->units[i].name;
        r = host_unit_files_exist(host, names, m->n_units, exists);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Failed to check whether the image's unit files exist on the host: %m");

        for (size_t i = 0; i < m->n_units; i++) {
                const char *unit = m->units[i].name, *conflict = NULL;

                if (exists[i]) {
                        if (!(flags & PORTABLE_DRY_RUN))
                                return portable_error(reterr, EEXIST, SYSTEMD_ERROR_UNIT_EXISTS,
                                                      "Unit file '%s' exists on the host already, refusing.", unit);
                        conflict = "exists";
                }

                r = host_unit_is_active(host, unit);
                if (r == -EAGAIN)
                        n_unknown++;
                else if (r < 0)
                        return portable_error(reterr, r, NULL, "Failed to check whether unit '%s' is active: %m", unit);
                else if (r > 0) {
                        if (!(flags & PORTABLE_DRY_RUN))
                                return portable_error(reterr, EBUSY, SYSTEMD_ERROR_UNIT_EXISTS,
                                                      "Unit file '%s' is active already, refusing.", unit);
                        conflict = "active";
                }

                if (conflict) {
                        r = portable_changes_add(&t->changes, PORTABLE_CONFLICT, unit, conflict);
                        if (r < 0)
                                return r;
                        n++;
                }
        }
        if (n_unknown > 0)
                return portable_error(reterr, EAGAIN, NULL,
                                      "Failed to check whether %u of the image's units are active: %m", n_unknown);
        return n;
}

static int install_profile(Transaction *t, const Host *host, const char *profile, const char *unit,
                           const char *dropin_dir, PortableFlags flags, bool replace) {
        _cleanup_free_ char *source = NULL, *target = NULL, *data = NULL;
        int r;

        if (isempty(profile))
                return 0;

        r = profile_find_dropin(host, profile, unit, &source);
        if (r <= 0)
                return r; /* nothing for this unit type */

        target = path_join(dropin_dir, DROPIN_PROFILE_NAME);
        if (!target)
                return -ENOMEM;

        /* A profile given by path is copied: what was checked is what the service gets. */
        if (!(flags & PORTABLE_PREFER_COPY) && !profile_is_path(profile))
                return transaction_symlink(t, target, source, replace);

        _cleanup_close_ int fd = open(source, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        size_t size;

        if (fd < 0)
                return -errno;
        r = read_full_fd(fd, PORTABLE_SIZE_MAX_UNIT_FILE, &data, &size);
        if (r < 0)
                return r;
        return transaction_write_file(t, target, data, size, 0644, replace, PORTABLE_COPY, source);
}

static int install_unit(Transaction *t, const Host *host, const DropinStack *stack, const PortableFile *unit,
                        const char *attached_dir, const char *profile, PortableFlags flags, sd_bus_error *reterr) {
        _cleanup_free_ char *dropin_dir = NULL, *dropin = NULL, *content = NULL, *unit_path = NULL, *dir_name = NULL;
        bool replace = flags & (PORTABLE_FORCE_ATTACH | PORTABLE_REATTACH);
        int r;

        if (asprintf(&dir_name, "%s.d", unit->name) < 0)
                return -ENOMEM;
        dropin_dir = path_join(attached_dir, dir_name);
        dropin = path_join(dropin_dir ?: "", DROPIN_PORTABLE_NAME);
        unit_path = path_join(attached_dir, unit->name);
        if (!dropin_dir || !dropin || !unit_path)
                return -ENOMEM;

        r = dropin_portable_content_stack(stack, unit->name, unit->layer, &content);
        if (r == -EINVAL && stack->n_extensions == 0)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image path '%s' contains whitespace, quotes or backslashes, which cannot be written into a unit file safely.",
                                      stack->root.image->path);
        if (r == -EINVAL)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "The path of image '%s' or of one of its extensions contains whitespace, quotes or backslashes, or a raw extension's path contains ':', which cannot be written into a unit file safely.",
                                      stack->root.image->path);
        if (r < 0)
                return r;

        /* Drop-ins first, so that the service manager never sees the unit without them. */
        r = transaction_mkdir(t, dropin_dir, 0755);
        if (r >= 0)
                r = transaction_write_file(t, dropin, content, strlen(content), 0644, /* replace= */ true,
                                           PORTABLE_WRITE, NULL);
        if (r >= 0)
                r = install_profile(t, host, profile, unit->name, dropin_dir, flags, replace);
        if (r >= 0) {
                /* A link into a directory image would let whoever can write the image change the
                 * unit after it was checked (unit-file-check.h): only trusted units are linked,
                 * the others copied, as checked. */
                if ((flags & PORTABLE_PREFER_SYMLINK) && unit->source && streq_ptr(profile, "trusted"))
                        r = transaction_symlink(t, unit_path, unit->source, replace);
                else
                        r = transaction_write_file(t, unit_path, unit->data, unit->size, 0644, replace, PORTABLE_COPY,
                                                   unit->source);
        }
        if (r == -EEXIST)
                return portable_error(reterr, r, SYSTEMD_ERROR_UNIT_EXISTS,
                                      "Failed to attach unit '%s': leftover files of an earlier attachment are in the way in %s (use --force to replace them).",
                                      unit->name, attached_dir);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Failed to attach unit '%s': %m", unit->name);
        return 0;
}

/* Images outside the search path get a link in /etc/portables (or /run/portables) so that they
 * can be found by name and are listed. This is a convenience: if something else already has that
 * name, we leave it alone. */
static int install_image_link(Transaction *t, const Host *host, const Image *image, PortableFlags flags) {
        _cleanup_free_ char *dir = NULL, *link = NULL;
        struct stat st;
        int r;

        r = image_is_in_search_path(host, image);
        if (r != 0)
                return r < 0 ? r : 0;

        dir = host_image_link_dir(host, flags & PORTABLE_RUNTIME);
        if (!dir)
                return -ENOMEM;
        link = path_join(dir, path_last_component(image->path));
        if (!link)
                return -ENOMEM;

        /* As the plan leaves it: a reattach may just have planned to remove the old link. */
        r = transaction_lstat(t, link, &st);
        if (r != -ENOENT)
                return 0;

        r = transaction_mkdir(t, dir, 0755);
        if (r < 0)
                return r;
        return transaction_symlink_marked(t, link, image->path);
}

/* The paths the profile's service drop-in needs inside the image, as (path, setting) pairs. */
static int profile_service_requirements(const Host *host, const char *profile, char ***ret) {
        _cleanup_free_ char *path = NULL, *data = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size;
        int r;

        *ret = NULL;
        if (isempty(profile))
                return 0;

        r = profile_find_dropin(host, profile, "check.service", &path);
        if (r <= 0)
                return r == -ENOENT ? 0 : r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        r = read_full_fd(fd, PORTABLE_SIZE_MAX_UNIT_FILE, &data, &size);
        if (r < 0)
                return r;
        return profile_requirements_parse(data, size, ret);
}

static bool has_service_unit(const PortableMetadata *m) {
        for (size_t i = 0; i < m->n_units; i++)
                if (streq_ptr(unit_name_type(m->units[i].name), "service"))
                        return true;
        return false;
}

/* On a read-only image the service manager cannot create a missing mount point, and the unit
 * fails at start with nothing but status=226/NAMESPACE. Say which path and which setting now. */
static int check_mount_points(const Image *image, const PortableMetadata *m, const char *profile,
                              char * const *requirements, sd_bus_error *reterr) {
        _cleanup_free_ char *list = NULL;
        bool writable_tree = (image->type == IMAGE_DIRECTORY || image->type == IMAGE_SUBVOLUME) && !image->read_only;

        if (writable_tree || strv_length(m->missing) == 0 || !has_service_unit(m))
                return 0;

        STRV_FOREACH(missing, m->missing)
                for (size_t i = 0; requirements && requirements[i]; i += 2) {
                        _cleanup_free_ char *item = NULL, *joined = NULL;

                        if (!streq(requirements[i], *missing))
                                continue;
                        if (asprintf(&item, "%s (for %s)", *missing, requirements[i + 1]) < 0)
                                return -ENOMEM;
                        if (asprintf(&joined, "%s%s%s", strempty(list), list ? ", " : "", item) < 0)
                                return -ENOMEM;
                        free_and_replace(list, joined);
                        break;
                }

        /* The daemon reads the image with the paths the profile needed when the call came, and
         * reads the profile again here: if it changed meanwhile, only what it mounts now counts. */
        if (!list)
                return 0;
        return portable_error(reterr, ENOENT, SD_BUS_ERROR_INVALID_ARGS,
                              "Image '%s' lacks %s: profile '%s' mounts there, and on a read-only image the service "
                              "would fail to start with status=226/NAMESPACE. Add an empty file or directory at that "
                              "path in the image, choose another profile, or use --force.",
                              image->path, strempty(list), profile);
}

/* The profile's requirements as (path, setting) pairs, and the paths alone for the reader. */
static int prepare(const Host *host, const char *profile, char ***ret_requirements, char ***ret_check_paths,
                   sd_bus_error *reterr) {
        _cleanup_strv_free_ char **requirements = NULL, **check_paths = NULL;
        int r;

        r = check_profile(host, profile, reterr);
        if (r < 0)
                return r;

        r = profile_service_requirements(host, profile, &requirements);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Failed to read profile '%s': %m", profile);
        for (size_t i = 0; requirements && requirements[i]; i += 2) {
                r = strv_extend(&check_paths, requirements[i]);
                if (r < 0)
                        return r;
        }

        if (ret_requirements)
                *ret_requirements = TAKE_PTR(requirements);
        *ret_check_paths = TAKE_PTR(check_paths);
        return 0;
}

int portable_attach_prepare(const Host *host, const char *profile, char ***ret_requirements, char ***ret_check_paths,
                            sd_bus_error *reterr) {
        return prepare(host, profile, ret_requirements, ret_check_paths, reterr);
}

/* ExtensionImagePolicy= is one setting for all extension images: what any raw extension's pinned
 * policy allows, so that none can be swapped for one with weaker protection than the weakest
 * found. NULL when no extension is raw. */
static int extensions_pinned_policy(const PortableMetadata * const *extension_layers, size_t n, char **ret) {
        _cleanup_(image_policy_freep) ImagePolicy *all = NULL;
        int r;

        for (size_t i = 0; i < n; i++) {
                _cleanup_(image_policy_freep) ImagePolicy *one = NULL, *both = NULL;
                const ImageLayout *layout = extension_layers[i]->layout;

                if (!layout || !layout->pinned_policy)
                        continue;
                r = image_policy_from_string(layout->pinned_policy, &one, NULL);
                if (r < 0)
                        return r;
                if (all) {
                        r = image_policy_union(all, one, &both);
                        if (r < 0)
                                return r;
                        image_policy_free(all);
                        all = TAKE_PTR(both);
                } else
                        all = TAKE_PTR(one);
        }

        if (!all) {
                *ret = NULL;
                return 0;
        }
        return image_policy_to_string(all, /* simplify= */ true, ret);
}

/* The layers of a stack as the drop-ins describe them. */
static int dropin_stack_new(const Host *host, const PortableStack *stack, const PortableMetadata * const *layers,
                            PortableFlags flags, DropinStack *ret) {
        DropinLayer *extensions = NULL;

        if (stack->n_extensions > 0) {
                extensions = calloc(stack->n_extensions, sizeof(DropinLayer));
                if (!extensions)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < stack->n_extensions; i++) {
                const PortableMetadata *ext = layers[i + 1];

                extensions[i] = (DropinLayer) {
                        .image = stack->extensions[i],
                        .release = ext->os_release_pairs,
                        .relax_release_check = ext->extension && extension_release_needs_relax(&(ExtensionRelease) {
                                .match = ext->extension_match,
                        }),
                };
        }

        *ret = (DropinStack) {
                /* An image alone keeps the drop-in it always had. */
                .root = {
                        .image = stack->image,
                        .release = stack->n_extensions > 0 ? layers[0]->os_release_pairs : NULL,
                        .image_policy = layers[0]->layout ? layers[0]->layout->pinned_policy : NULL,
                },
                .extensions = extensions,
                .n_extensions = stack->n_extensions,
                .force_extension = flags & PORTABLE_FORCE_EXTENSION,
                .host_os_release = host_os_release_path(host),
        };
        return 0;
}

typedef struct ReadLayers {
        PortableMetadata **layers;
        size_t n;
} ReadLayers;

static void read_layers_done(ReadLayers *l) {
        l->layers = portable_metadata_free_many(l->layers, l->n);
}

int portable_attach_stack_in(Transaction *t, const Host *host, const PortableStack *stack, char * const *matches,
                             const char *profile, PortableFlags flags, sd_bus_error *reterr) {
        _cleanup_(read_layers_done) ReadLayers read = {};
        _cleanup_(portable_metadata_freep) PortableMetadata *merged = NULL;
        _cleanup_strv_free_ char **requirements = NULL, **check_paths = NULL;
        _cleanup_free_ char *attached_dir = NULL;
        _cleanup_free_ DropinLayer *dropin_extensions = NULL;
        _cleanup_free_ char *extension_policy = NULL;
        const PortableMetadata * const *layers = stack->layers;
        const Image *image = stack->image;
        const PortableMetadata *m;
        DropinStack dropin_stack;
        int r;

        r = portable_stack_check_distinct(stack, reterr);
        if (r < 0)
                return r;

        r = prepare(host, profile, &requirements, &check_paths, reterr);
        if (r < 0)
                return r;

        if (!layers) {
                r = image_read_stack_metadata(image, stack->extensions, stack->n_extensions, matches, check_paths,
                                              flags & PORTABLE_FORCE_EXTENSION, &read.layers, reterr);
                if (r < 0)
                        return r;
                read.n = 1 + stack->n_extensions;
                layers = (const PortableMetadata * const *) read.layers;
        }

        m = layers[0];
        if (stack->n_extensions > 0) {
                r = extension_merge_metadata(layers, 1 + stack->n_extensions, &merged);
                if (r < 0)
                        return r;
                r = extension_merge_check_limits(layers, 1 + stack->n_extensions, merged, image->path, reterr);
                if (r < 0)
                        return r;
                m = merged;
        }

        r = check_metadata(stack, layers, m, matches, reterr);
        if (r < 0)
                return r;

        /* Not skipped by --force: the host's service manager would act on these settings outside
         * the image and the profile. Only the "trusted" profile may carry them. */
        if (!streq_ptr(profile, "trusted")) {
                r = unit_file_check_metadata_confined(m, reterr);
                if (r < 0)
                        return r;
        }

        if (!(flags & PORTABLE_FORCE_ATTACH)) {
                r = check_mount_points(image, m, profile, requirements, reterr);
                if (r < 0)
                        return r;
        }

        if (!(flags & (PORTABLE_FORCE_ATTACH | PORTABLE_REATTACH))) {
                r = check_conflicts(t, host, m, flags, reterr);
                if (r != 0)
                        return r < 0 ? r : 0; /* a dry run that found conflicts: they are its answer */
        }

        r = dropin_stack_new(host, stack, layers, flags, &dropin_stack);
        if (r < 0)
                return r;
        dropin_extensions = (DropinLayer *) dropin_stack.extensions;
        r = extensions_pinned_policy(layers + 1, stack->n_extensions, &extension_policy);
        if (r < 0)
                return r;
        dropin_stack.extension_image_policy = extension_policy;

        attached_dir = host_attached_dir(host, flags & PORTABLE_RUNTIME);
        if (!attached_dir)
                return -ENOMEM;

        r = transaction_mkdir(t, attached_dir, 0755);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Failed to create %s: %m", attached_dir);

        for (size_t i = 0; i < m->n_units; i++) {
                r = install_unit(t, host, &dropin_stack, &m->units[i], attached_dir, profile, flags, reterr);
                if (r < 0)
                        return r;
        }

        /* Extensions first, in order, then the image, as systemd does. */
        for (size_t i = 0; i <= stack->n_extensions; i++) {
                const Image *layer = i < stack->n_extensions ? stack->extensions[i] : image;

                r = install_image_link(t, host, layer, flags);
                if (r < 0)
                        return portable_error(reterr, r, NULL, "Failed to link image '%s' into %s: %m", layer->path,
                                              flags & PORTABLE_RUNTIME ? "/run/portables" : "/etc/portables");
        }
        return 0;
}

int portable_attach_in(Transaction *t, const Host *host, const Image *image, const PortableMetadata *metadata,
                       char * const *matches, const char *profile, PortableFlags flags, sd_bus_error *reterr) {
        const PortableStack stack = {
                .image = image,
                .layers = metadata ? &metadata : NULL,
        };

        return portable_attach_stack_in(t, host, &stack, matches, profile, flags, reterr);
}

int portable_attach_stack(const Host *host, const PortableStack *stack, char * const *matches, const char *profile,
                          PortableFlags flags, PortableChanges *ret_changes, sd_bus_error *reterr) {
        _cleanup_(transaction_done) Transaction t = {};
        int r;

        r = portable_transaction_init(&t, host, flags, "attach", stack->image->path);
        if (r < 0)
                return r;
        r = portable_attach_stack_in(&t, host, stack, matches, profile, flags, reterr);
        r = portable_transaction_finish(&t, r, flags, ret_changes, reterr);
        if (r >= 0 && (flags & PORTABLE_MIXED_COPY))
                r = portable_copy_images(host, stack, flags, IMAGE_COPY_MAKE, ret_changes);
        return r;
}

int portable_copy_images(const Host *host, const PortableStack *stack, PortableFlags flags, ImageCopyMode mode,
                         PortableChanges *changes) {
        _cleanup_free_ char *dir = host_image_link_dir(host, flags & PORTABLE_RUNTIME);
        _cleanup_strv_free_ char **images = NULL;

        if (!dir)
                return -ENOMEM;
        for (size_t i = 0; i <= stack->n_extensions; i++)
                if (strv_extend(&images, i < stack->n_extensions ? stack->extensions[i]->path : stack->image->path) < 0)
                        return -ENOMEM;
        image_copy_after_attach(dir, images, flags & PORTABLE_DRY_RUN ? IMAGE_COPY_PLAN : mode, changes);
        return 0;
}

int portable_attach(const Host *host, const Image *image, const PortableMetadata *metadata, char * const *matches,
                    const char *profile, PortableFlags flags, PortableChanges *ret_changes, sd_bus_error *reterr) {
        const PortableStack stack = {
                .image = image,
                .layers = metadata ? &metadata : NULL,
        };

        return portable_attach_stack(host, &stack, matches, profile, flags, ret_changes, reterr);
}
