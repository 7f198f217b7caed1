/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>

#include "dirent-util.h"

mode_t dirent_file_type(int dir_fd, const struct dirent *de) {
        struct stat st;

        if (de->d_type != DT_UNKNOWN)
                return DTTOIF(de->d_type);
        if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        return st.st_mode & S_IFMT;
}
