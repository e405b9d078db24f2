env -i \
  AIRLOCK_CONTROL_DIR=/airlock/control \
  AIRLOCK_SESSION=session-0001 \
  HOME=/home/agent \
  LANG=en_US.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  TERM=xterm-256color \
  bwrap \
  --die-with-parent \
  --as-pid-1 \
  --new-session \
  --unshare-all \
  --unshare-user \
  --disable-userns \
  --hostname airlock \
  --uid 1000 \
  --gid 1000 \
  --cap-drop ALL \
  --seccomp 3 \
  --ro-bind-try /bin /bin \
  --ro-bind-try /sbin /sbin \
  --ro-bind-try /lib /lib \
  --ro-bind-try /lib32 /lib32 \
  --ro-bind-try /lib64 /lib64 \
  --ro-bind-try /libx32 /libx32 \
  --ro-bind /usr /usr \
  --ro-bind-try /etc/alternatives /etc/alternatives \
  --ro-bind-try /etc/ca-certificates /etc/ca-certificates \
  --ro-bind-try /etc/ssl /etc/ssl \
  --ro-bind-try /etc/pki /etc/pki \
  --ro-bind-try /etc/ld.so.cache /etc/ld.so.cache \
  --ro-bind-try /etc/ld.so.conf /etc/ld.so.conf \
  --ro-bind-try /etc/ld.so.conf.d /etc/ld.so.conf.d \
  --ro-bind-try /etc/localtime /etc/localtime \
  --ro-bind-try /etc/nsswitch.conf /etc/nsswitch.conf \
  --ro-bind-try /etc/passwd /etc/passwd \
  --ro-bind-try /etc/group /etc/group \
  --ro-bind-try /etc/hosts /etc/hosts \
  --ro-bind-try /etc/resolv.conf /etc/resolv.conf \
  --ro-bind-try /etc/gitconfig /etc/gitconfig \
  --ro-bind-try /etc/os-release /etc/os-release \
  --proc /proc \
  --ro-bind-try /proc/sys /proc/sys \
  --ro-bind-try /proc/sysrq-trigger /proc/sysrq-trigger \
  --ro-bind-try /proc/irq /proc/irq \
  --ro-bind-try /proc/bus /proc/bus \
  --ro-bind-try /proc/fs /proc/fs \
  --ro-bind-try /proc/acpi /proc/acpi \
  --ro-bind-try /proc/scsi /proc/scsi \
  --ro-bind-try /proc/driver /proc/driver \
  --ro-bind-try /proc/tty /proc/tty \
  --dev /dev \
  --size 104857600 \
  --tmpfs /tmp \
  --size 67108864 \
  --tmpfs /home/agent \
  --dir /home/agent \
  --ro-bind /usr/libexec/airlock/airlock-shim /airlock/shim \
  --bind /run/user/1000/airlock/session-0001 /airlock/control \
  --ro-bind /home/dev/src/project /home/dev/src/project \
  --remount-ro / \
  --chdir /home/dev/src/project \
  -- /airlock/shim --control /airlock/control/shim.sock --workspace /home/dev/src/project
