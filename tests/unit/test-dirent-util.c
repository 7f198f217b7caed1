/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirent-util.h"
#include "fd-util.h"
#include "unit-helpers.h"

static char *tmp;
static int dir_fd = -EBADF;

static void setup(void) {
        _cleanup_free_ char *file = NULL, *dir = NULL, *link = NULL;

        tmp = unit_mkdtemp("dirent");
        file = unit_strf("%s/file", tmp);
        dir = unit_strf("%s/dir", tmp);
        link = unit_strf("%s/link", tmp);
        unit_write(file, "x");
        unit_mkdir_p(dir, 0755);
        unit_symlink("dir", link);
        dir_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert(ge(int, dir_fd, 0));
}

static void teardown(void) {
        dir_fd = safe_close(dir_fd);
        unit_rm_rf(tmp);
        free(tmp);
}

TestSuite(dirent_util, .init = setup, .fini = teardown);

static mode_t type_as_listed(const char *name) {
        DIR *d = opendir(tmp);
        struct dirent *de;
        mode_t type = (mode_t) -1;

        cr_assert(d != NULL);
        while ((de = readdir(d)))
                if (streq(de->d_name, name))
                        type = dirent_file_type(dir_fd, de);
        closedir(d);
        return type;
}

/* Without DT_UNKNOWN: as if the file system did not fill in d_type. */
static mode_t type_looked_up(const char *name) {
        struct dirent de = { .d_type = DT_UNKNOWN };

        cr_assert(lt(sz, strlen(name), sizeof(de.d_name)));
        strcpy(de.d_name, name);
        return dirent_file_type(dir_fd, &de);
}

Test(dirent_util, type_from_the_listing) {
        cr_assert(eq(u32, (uint32_t) type_as_listed("file"), (uint32_t) S_IFREG));
        cr_assert(eq(u32, (uint32_t) type_as_listed("dir"), (uint32_t) S_IFDIR));
        cr_assert(eq(u32, (uint32_t) type_as_listed("link"), (uint32_t) S_IFLNK), "a symlink is not followed");
}

Test(dirent_util, type_looked_up_where_the_listing_does_not_say) {
        cr_assert(eq(u32, (uint32_t) type_looked_up("file"), (uint32_t) S_IFREG));
        cr_assert(eq(u32, (uint32_t) type_looked_up("dir"), (uint32_t) S_IFDIR));
        cr_assert(eq(u32, (uint32_t) type_looked_up("link"), (uint32_t) S_IFLNK), "a symlink is not followed");
        cr_assert(eq(u32, (uint32_t) type_looked_up("gone"), 0U), "an entry removed since the listing");
}
