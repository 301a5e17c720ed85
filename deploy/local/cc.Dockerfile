# A local stand-in for gcr.io/distroless/cc-debian12:nonroot (built by deploy/local/build.sh): only what a
# dynamically linked glibc program needs, taken from the Debian minbase root: the files of libc6 and libgcc-s1
# (no gconv modules, no docs), /etc/passwd and /etc/group with root, nobody and nonroot (65532), a sticky /tmp.
# No shell, no package manager, like distroless. Use it as the tgpulse image's BASE_IMAGE.
ARG BASE_IMAGE=localhost/debian:bookworm-minbase
FROM ${BASE_IMAGE} AS files
RUN set -eu; \
  mkdir -p /rootfs/etc /rootfs/tmp /rootfs/home/nonroot; \
  for link in /lib /lib64 /bin /sbin; do if [ -L "$link" ]; then cp -a "$link" /rootfs/; fi; done; \
  dpkg -L libc6 libgcc-s1 | grep -v -E '^/usr/share/|/gconv' | while read -r f; do \
    if [ -f "$f" ] || [ -L "$f" ]; then \
      real="$(cd "$(dirname "$f")" && pwd -P)/$(basename "$f")"; \
      cp -a --parents "$real" /rootfs/; \
    fi; \
  done; \
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /rootfs/etc/passwd; \
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > /rootfs/etc/group; \
  printf 'hosts: files dns\n' > /rootfs/etc/nsswitch.conf; \
  chmod 1777 /rootfs/tmp; \
  chown 65532:65532 /rootfs/home/nonroot; \
  test -e /rootfs/lib64/ld-linux-x86-64.so.2

FROM scratch
COPY --from=files /rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
USER 65532:65532
WORKDIR /home/nonroot
