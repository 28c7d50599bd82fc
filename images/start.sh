#!/bin/bash
# start.sh — runs as root inside an lticontainer user container before Jupyter, then becomes the
# user and execs the given command (default: bash). Installed as /usr/local/bin/start.sh and used as
#   ENTRYPOINT ["tini", "-g", "--", "/usr/local/bin/start.sh"]   CMD ["jupyterhub-singleuser"]
#
# What it does (lticontainer's version of the original LTIContainerSpawner start.sh; the env
# contract is the hub's: NB_USER NB_UID NB_GID NB_GROUP NB_DIR NB_TEACHER NB_THRGID NB_THRGROUP
# NB_UMASK NB_VOLUMES NB_SUBMITS NB_PRSNALS PRJCT_DIR WORK_DIR VOLUME_DIR GRANT_SUDO):
#  1. the group NB_GID and the user NB_UID (renaming an image account such as jovyan that holds the
#     uid), home NB_DIR owned by the user, jupyter/works/.volumes inside it;
#  2. teachers (NB_TEACHER = NB_USER) join the teacher group NB_THRGID/NB_THRGROUP;
#  3. task volumes (NB_VOLUMES): teachers own and write them, students read them;
#  4. submit volumes (NB_SUBMITS): a drop box, see the modes below;
#  5. personal volumes (NB_PRSNALS): a private directory in the home, seeded from the task volume of
#     the same name without overwriting anything, then tagged by `lticontainer-tools setup`;
#  6. the display-name links in works/ and .volumes/ (a leading `-` = teachers only, except for
#     submit volumes where it is stripped and everyone gets the link);
#  7. sudo for teachers or GRANT_SUDO=yes/1 (only when sudo is installed), the umask NB_UMASK, the
#     hooks of /usr/local/bin/before-notebook.d (*.sh sourced, executables run, as root);
#  8. exec "$@" as the user (setpriv, else runuser) with the environment kept.
#
# Decisions where the original misbehaved (see images/README.md):
#  * Task volume modes: directories 2775 and files ug+rw,o+r,o-w (execute bits kept), group
#    NB_THRGID; the original's `chmod -R` gave every file 2775. Only a teacher's start changes
#    them (a student's mount may be read-only, and students must not need to).
#  * Submit volume: directory 3773 (rwxrwx-wt: sticky, setgid) owned by the first teacher, group
#    NB_THRGID. Everyone can drop a file, teachers list and read (files are 0640 via `submit`),
#    students can neither list the directory nor read or delete another's file. The original's 3777
#    let every student list who had submitted.
#  * The command is exec'd unchanged ("$@"); the original sorted, de-duplicated and re-split the
#    options, which broke option values containing spaces.
#  * /etc/skel/.bashrc and .bash_profile are copied only when missing (the original overwrote the
#    user's .bashrc at every start).
#  * Only the display links start.sh made (pointing into .volumes) are removed at start; the
#    original removed every symlink of works/.
#  * Hostile input: volume lists split on spaces only, no globbing (set -f); an entry is used only
#    when its directory is "$VOLUME_DIR/lms_{vol|sub|prs}_<[A-Za-z0-9._-]>" and its display name is
#    not empty, ".", "..", has no "/" and no control character; the others are logged and skipped.
#    A symbolic link found where start.sh expects a directory (jupyter, works, .volumes, a personal
#    volume) is moved aside, never followed as root; seeding and tagging run as the user.
#  * sudoers names the user by uid (#uid), so no user name can inject sudoers syntax.
#
# Log: $NB_DIR/.ltictr.root.log (recreated at each start, never followed if a link) and stderr.
set -euo pipefail
set -f
umask 0022

TOOLS=${LTICONTAINER_TOOLS:-/usr/local/bin/lticontainer-tools}
HOOK_DIR=${BEFORE_NOTEBOOK_DIR:-/usr/local/bin/before-notebook.d}

exec 3>/dev/null
log() { printf 'start.sh: %s\n' "$*" >&2 && printf '%s %s\n' "$(date '+%F %T')" "$*" >&3; }
die() {
  log "ERROR: $*"
  exit 1
}

# Rootless (the container started as the user): nothing can be set up; apply the umask and run.
if [ "$(id -u)" != 0 ]; then
  case ${NB_UMASK:-} in [0-7][0-7][0-7] | 0[0-7][0-7][0-7]) umask "$NB_UMASK" ;; esac
  [ $# -gt 0 ] || set -- bash
  exec "$@"
fi

NB_USER=${NB_USER:-jovyan}
NB_UID=${NB_UID:-1000}
NB_GID=${NB_GID:-100}
NB_GROUP=${NB_GROUP:-users}
NB_THRGID=${NB_THRGID:-7000}
NB_THRGROUP=${NB_THRGROUP:-TEACHER}
PRJCT_DIR=${PRJCT_DIR:-jupyter}
WORK_DIR=${WORK_DIR:-works}
VOLUME_DIR=${VOLUME_DIR:-.volumes}
NB_DIR=${NB_DIR:-${USER_HOME:-/home/$NB_USER}}

case $NB_UID in '' | *[!0-9]*) die "NB_UID '$NB_UID' is not a number" ;; esac
case $NB_GID in '' | *[!0-9]*) die "NB_GID '$NB_GID' is not a number" ;; esac
case $NB_THRGID in '' | *[!0-9]*) die "NB_THRGID '$NB_THRGID' is not a number" ;; esac
[ "$NB_UID" -gt 0 ] || die "refusing to run the notebook as root (NB_UID=0)"
for name in "$NB_USER" "$NB_GROUP" "$NB_THRGROUP"; do
  case $name in '' | -* | *[:/,[:space:][:cntrl:]]*) die "account name '$name' is empty, starts with '-' or holds ':', '/', ',', spaces or control characters" ;; esac
done
case $NB_DIR in /*) ;; *) die "NB_DIR '$NB_DIR' is not an absolute path" ;; esac
for name in "$PRJCT_DIR" "$WORK_DIR" "$VOLUME_DIR"; do
  case $name in '' | . | .. | */*) die "directory name '$name' (PRJCT_DIR/WORK_DIR/VOLUME_DIR) is not a plain name" ;; esac
done
IS_TEACHER=no
[ -n "${NB_TEACHER:-}" ] && [ "$NB_TEACHER" = "$NB_USER" ] && IS_TEACHER=yes

# Moves a symbolic link out of the way of a directory start.sh needs (it is never followed as root).
unlink_aside() {
  if [ -L "$1" ]; then
    local aside
    aside="$1.link-moved-$(date +%s)"
    mv -T -- "$1" "$aside"
    log "moved the symbolic link $1 aside to $aside (a directory belongs there)"
  fi
}

# ---- the log ---------------------------------------------------------------------------------
unlink_aside "$NB_DIR"
mkdir -p -- "$NB_DIR"
LOG="$NB_DIR/.ltictr.root.log"
rm -f -- "$LOG"
if (set -C && : >"$LOG") 2>/dev/null; then
  exec 3>>"$LOG"
fi
log "starting for user $NB_USER ($NB_UID:$NB_GID), teacher: $IS_TEACHER"

# ---- 1. group and user -----------------------------------------------------------------------
if getent group "$NB_GID" >/dev/null; then
  :
elif getent group "$NB_GROUP" >/dev/null; then
  log "group name $NB_GROUP is taken by another gid; creating group $NB_GROUP-$NB_GID"
  groupadd -g "$NB_GID" "$NB_GROUP-$NB_GID"
else
  groupadd -g "$NB_GID" "$NB_GROUP"
fi

# LMS user names may hold characters (".", "@", capitals) that some useradd versions refuse.
badname=()
useradd --help 2>&1 | grep -q -- --badname && badname=(--badname)
current_uid=$(getent passwd "$NB_USER" | cut -d: -f3 || true)
holder=$(getent passwd "$NB_UID" | cut -d: -f1 || true)
# A system account (uid below 1000 or from 60000 on: root, daemon, nobody…) is never taken over.
is_system_uid() { [ "$1" -lt 1000 ] || [ "$1" -ge 60000 ]; }
if [ -n "$current_uid" ]; then
  ! is_system_uid "$current_uid" || die "user name $NB_USER is the image's system account (uid $current_uid)"
  if [ "$current_uid" != "$NB_UID" ]; then
    [ -z "$holder" ] || die "uid $NB_UID already belongs to $holder, cannot give it to $NB_USER"
    log "changing the uid of $NB_USER from $current_uid to $NB_UID"
    usermod -u "$NB_UID" "$NB_USER"
  fi
  usermod -g "$NB_GID" -d "$NB_DIR" "$NB_USER"
elif [ -n "$holder" ]; then
  ! is_system_uid "$NB_UID" || die "uid $NB_UID is the image's system account $holder"
  log "renaming the image account $holder (uid $NB_UID) to $NB_USER"
  usermod "${badname[@]}" -l "$NB_USER" -g "$NB_GID" -d "$NB_DIR" -s /bin/bash "$holder"
else
  useradd "${badname[@]}" -M -N -l -d "$NB_DIR" -u "$NB_UID" -g "$NB_GID" -s /bin/bash "$NB_USER"
fi

# ---- home and work directories ---------------------------------------------------------------
home_owner=$(stat -c %u -- "$NB_DIR")
if [ "$home_owner" != "$NB_UID" ]; then
  log "giving $NB_DIR to $NB_UID:$NB_GID"
  chown -h "$NB_UID:$NB_GID" -- "$NB_DIR"
  find "$NB_DIR" -mindepth 1 -maxdepth 1 ! -user "$NB_UID" -exec chown -h "$NB_UID:$NB_GID" {} +
  chmod 0700 -- "$NB_DIR"
fi
for f in .bashrc .bash_profile .profile; do
  if [ -f "/etc/skel/$f" ] && [ ! -e "$NB_DIR/$f" ] && [ ! -L "$NB_DIR/$f" ]; then
    cp -- "/etc/skel/$f" "$NB_DIR/$f"
    chown -h "$NB_UID:$NB_GID" -- "$NB_DIR/$f"
  fi
done

PROJECTS="$NB_DIR/$PRJCT_DIR"
WORKS="$PROJECTS/$WORK_DIR"
VOLUMES="$WORKS/$VOLUME_DIR"
for d in "$PROJECTS" "$WORKS" "$VOLUMES"; do
  unlink_aside "$d"
  [ -d "$d" ] || mkdir -- "$d"
  chown -h "$NB_UID:$NB_GID" -- "$d"
done

if [ -n "${CHOWN_EXTRA:-}" ]; then
  recursive=()
  [ "${CHOWN_EXTRA_OPTS:-}" = "-R" ] && recursive=(-R)
  IFS=, read -r -a extra <<<"$CHOWN_EXTRA"
  for p in "${extra[@]}"; do
    [ -n "$p" ] && chown -h "${recursive[@]}" "$NB_UID:$NB_GID" -- "$p"
  done
fi

# Remove the display links of the previous start (links that point into the volumes directory).
while IFS= read -r -d '' link; do
  target=$(readlink -- "$link" || true)
  case $target in "$VOLUME_DIR"/*) rm -f -- "$link" ;; esac
done < <(find "$WORKS" -mindepth 1 -maxdepth 1 -type l -print0)
while IFS= read -r -d '' link; do
  target=$(readlink -- "$link" || true)
  case $target in */*) ;; *) rm -f -- "$link" ;; esac
done < <(find "$VOLUMES" -mindepth 1 -maxdepth 1 -type l -print0)

# ---- 2. teacher group ------------------------------------------------------------------------
if [ "$IS_TEACHER" = yes ]; then
  if ! getent group "$NB_THRGID" >/dev/null; then
    if getent group "$NB_THRGROUP" >/dev/null; then
      die "group name $NB_THRGROUP exists with another gid than NB_THRGID=$NB_THRGID"
    fi
    groupadd -g "$NB_THRGID" "$NB_THRGROUP"
  fi
  usermod -aG "$NB_THRGID" "$NB_USER"
fi

# ---- volume entries --------------------------------------------------------------------------
# Splits a space-separated list into the array ENTRIES without globbing.
split_list() {
  ENTRIES=()
  local list=$1
  [ -n "$list" ] || return 0
  IFS=' ' read -r -d '' -a ENTRIES < <(printf '%s\0' "$list") || true
}

# Checks one "<dir>:<display>" entry of kind vol|sub|prs; sets PHYS (physical name), DISPLAY
# (without the leading -), TEACHER_ONLY; returns 1 (after logging) for a rejected entry.
parse_entry() {
  local kind=$1 entry=$2 dir
  dir=${entry%%:*}
  DISPLAY=""
  [ "$dir" != "$entry" ] && DISPLAY=${entry#*:}
  PHYS=${dir#"$VOLUME_DIR"/}
  TEACHER_ONLY=no
  if [ "$PHYS" = "$dir" ] || [[ ! $PHYS =~ ^lms_${kind}_[A-Za-z0-9][A-Za-z0-9._-]*$ ]]; then
    log "rejected volume entry '$entry': its directory is not $VOLUME_DIR/lms_${kind}_<name>"
    return 1
  fi
  case $DISPLAY in -*)
    TEACHER_ONLY=yes
    DISPLAY=${DISPLAY#-}
    ;;
  esac
  if [ -z "$DISPLAY" ] || [ "$DISPLAY" = . ] || [ "$DISPLAY" = .. ] ||
    [[ $DISPLAY == */* ]] || [[ $DISPLAY == *[[:cntrl:]]* ]]; then
    log "rejected volume entry '$entry': display name '$DISPLAY' is empty, '.', '..' or has '/' or control characters"
    return 1
  fi
  return 0
}

# Makes works/<display> -> .volumes/<phys> and .volumes/<display> -> <phys> unless a real file
# already holds the name.
make_links() {
  local phys=$1 display=$2 link target
  for link in "$WORKS/$display" "$VOLUMES/$display"; do
    if [ "$link" = "$WORKS/$display" ]; then target="$VOLUME_DIR/$phys"; else target=$phys; fi
    if [ -e "$link" ] || [ -L "$link" ]; then
      log "not linking '$display': $link already exists"
      continue
    fi
    ln -s -- "$target" "$link"
    chown -h "$NB_UID:$NB_GID" -- "$link"
  done
}

# Runs a command as the user (for work in the user's own files).
as_user() {
  setpriv --reuid="$NB_UID" --regid="$NB_GID" --init-groups -- "$@"
}

# ---- 3. task volumes -------------------------------------------------------------------------
split_list "${NB_VOLUMES:-}"
for entry in "${ENTRIES[@]}"; do
  parse_entry vol "$entry" || continue
  dir="$VOLUMES/$PHYS"
  if [ -L "$dir" ] || [ ! -d "$dir" ]; then
    log "task volume $PHYS is not mounted; skipped"
    continue
  fi
  if [ "$IS_TEACHER" = yes ]; then
    if [ "$(stat -c %u -- "$dir")" = 0 ]; then
      log "task volume $PHYS: first teacher $NB_USER becomes its owner"
      chown -R "$NB_UID:$NB_THRGID" -- "$dir" || log "cannot chown task volume $PHYS"
    fi
    {
      find "$dir" ! -type l ! -group "$NB_THRGID" -exec chgrp -h "$NB_THRGID" {} + &&
        find "$dir" -type d ! -perm 2775 -exec chmod 2775 {} + &&
        find "$dir" -type f \( ! -perm -0664 -o -perm /0002 \) -exec chmod ug+rw,o+r,o-w {} +
    } || log "cannot set the modes of task volume $PHYS"
  fi
  if [ "$TEACHER_ONLY" = no ] || [ "$IS_TEACHER" = yes ]; then
    make_links "$PHYS" "$DISPLAY"
  fi
done

# ---- 4. submit volumes -----------------------------------------------------------------------
split_list "${NB_SUBMITS:-}"
for entry in "${ENTRIES[@]}"; do
  parse_entry sub "$entry" || continue
  dir="$VOLUMES/$PHYS"
  if [ -L "$dir" ] || [ ! -d "$dir" ]; then
    log "submit volume $PHYS is not mounted; skipped"
    continue
  fi
  {
    if [ "$IS_TEACHER" = yes ] && [ "$(stat -c %u -- "$dir")" = 0 ]; then
      chown "$NB_UID:$NB_THRGID" -- "$dir"
    else
      chgrp "$NB_THRGID" -- "$dir"
    fi &&
      chmod 3773 -- "$dir"
  } || log "cannot set the owner and mode of submit volume $PHYS (read-only?)"
  if [ "$IS_TEACHER" = yes ]; then
    ckpt="$dir/.ipynb_checkpoints"
    unlink_aside "$ckpt"
    if ! { [ -d "$ckpt" ] || mkdir -- "$ckpt"; } ||
      ! chown "$NB_UID:$NB_THRGID" -- "$ckpt" || ! chmod 3770 -- "$ckpt"; then
      log "cannot prepare $ckpt"
    fi
  fi
  make_links "$PHYS" "$DISPLAY"
done

# ---- 5. personal volumes ---------------------------------------------------------------------
split_list "${NB_PRSNALS:-}"
for entry in "${ENTRIES[@]}"; do
  parse_entry prs "$entry" || continue
  dir="$VOLUMES/$PHYS"
  unlink_aside "$dir"
  if [ ! -d "$dir" ]; then
    mkdir -m 0700 -- "$dir"
  fi
  # Only entries owned by someone else are changed (cheap on a large volume); links are not followed.
  find "$dir" \( ! -user "$NB_UID" -o ! -group "$NB_GID" \) -exec chown -h "$NB_UID:$NB_GID" {} +
  chmod 0700 -- "$dir"
  if [ "$TEACHER_ONLY" = no ] || [ "$IS_TEACHER" = yes ]; then
    make_links "$PHYS" "$DISPLAY"
  fi
  task="$VOLUMES/lms_vol_${PHYS#lms_prs_}"
  if [ -d "$task" ] && [ ! -L "$task" ]; then
    log "seeding personal volume $PHYS from $(basename -- "$task")"
    (
      umask "${NB_UMASK:-0022}" 2>/dev/null || true
      as_user find "$task" -mindepth 1 -maxdepth 1 ! -name '.*' -exec cp -R -n -P -t "$dir" -- {} + ||
        log "seeding $PHYS: some files could not be copied"
      if [ -x "$TOOLS" ]; then
        as_user "$TOOLS" setup "$task" "$dir" 1 >&3 2>&1 || log "tagging the notebooks of $PHYS failed"
      else
        log "$TOOLS is missing; notebooks of $PHYS not tagged"
      fi
    )
  fi
done

# ---- 7. sudo, umask, hooks -------------------------------------------------------------------
if [ -x /usr/bin/sudo ] && [ -d /etc/sudoers.d ]; then
  if [[ $PATH =~ ^[A-Za-z0-9/_.:-]+$ ]]; then
    printf 'Defaults secure_path="%s"\n' "$PATH" >/etc/sudoers.d/path
    chmod 0440 /etc/sudoers.d/path
  fi
  case ${GRANT_SUDO:-no} in 1 | yes) grant=yes ;; *) grant=$IS_TEACHER ;; esac
  if [ "$grant" = yes ]; then
    log "granting sudo to $NB_USER"
    printf '#%s ALL=(ALL) NOPASSWD:ALL\n' "$NB_UID" >/etc/sudoers.d/notebook
    chmod 0440 /etc/sudoers.d/notebook
  else
    rm -f /etc/sudoers.d/notebook
  fi
fi

case ${NB_UMASK:-} in
  '') ;;
  [0-7][0-7][0-7] | 0[0-7][0-7][0-7]) umask "$NB_UMASK" ;;
  *) log "ignoring NB_UMASK '$NB_UMASK' (not an octal mask)" ;;
esac

cd -- "$NB_DIR"
if [ -d "$HOOK_DIR" ]; then
  # Hooks run as in docker-stacks: globbing on, in name order, as root.
  set +f
  for hook in "$HOOK_DIR"/*; do
    case $hook in
      *.sh)
        log "sourcing hook $hook"
        # shellcheck disable=SC1090
        . "$hook"
        ;;
      *)
        if [ -f "$hook" ] && [ -x "$hook" ]; then
          log "running hook $hook"
          "$hook" || log "hook $hook failed with status $?"
        fi
        ;;
    esac
  done
  set -f
fi

# ---- 8. become the user ----------------------------------------------------------------------
[ $# -gt 0 ] || set -- bash
export HOME="$NB_DIR" USER="$NB_USER" LOGNAME="$NB_USER" SHELL=/bin/bash
export XDG_CACHE_HOME="${XDG_CACHE_HOME:-$NB_DIR/.cache}"
log "exec as $NB_USER: $*"
exec 3>&-
if command -v setpriv >/dev/null; then
  exec setpriv --reuid="$NB_UID" --regid="$NB_GID" --init-groups -- "$@"
elif command -v runuser >/dev/null; then
  exec runuser -u "$NB_USER" -- "$@"
else
  die "neither setpriv nor runuser is installed: cannot drop to $NB_USER"
fi
