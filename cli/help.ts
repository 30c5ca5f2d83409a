/** `qemu-devplan --help`: the whole command line on one page, exit codes included (the README quotes them). */
export const HELP = `Usage: qemu-devplan COMMAND [ARGS] [FLAGS]

Plans QEMU/KVM virtual hardware from a Ganeti-style instance spec, as the qemu-devplan library does.
It is pure: every host fact (file or block device kinds, sizes, fds, secrets' files, addresses, the
QEMU version, the QMP socket path, the chroot directory) comes from its input, the spec JSON and the
flags. It never stats, opens or reserves anything: it reads only the input files named on the command
line (- is stdin, for one of them) and writes only the file --out names.

Commands:
  plan SPEC [--qemu 7.2] [--machine pc] [--qmp-socket P] [--accel kvm|tcg] [--control-dir D]
            [--chroot-dir D] [--format json|shell|lines|table|plan] [--out RUNTIME]
      Prints the command line: json (a JSON array, the default), shell (one line that sh reads
      back word for word), lines (one word per line), table (the devices and their places) or
      plan (the whole device tree as JSON). SPEC is an instance, or {"instance", "target",
      "render"} as in examples/instance.json; flags override target.qemu, target.machine,
      target.host.chrootDir and render.*. The QMP socket defaults to /run/qemu-devplan/NAME.qmp.
      --out RUNTIME writes the runtime file the instance starts with (what hotplug, media and
      plan --runtime read).
  plan --runtime FILE [--qemu X] [--chroot-dir D] [--nic-backend JSON]... [--format json|shell|lines]
      Prints the command line a restart or migration target runs for a runtime file. A file Ganeti
      wrote names neither its QEMU (--qemu) nor its NICs' backends: --nic-backend '{"type":"tap",
      "fds":[5]}' (once for every NIC, or once per NIC in order; fds are the caller's, not opened).
  hotplug add RUNTIME --disk DISK.json | --nic NIC.json [--out FILE] [--unplug-timeout MS] [--qemu X]
  hotplug remove RUNTIME ID [--out FILE] [--unplug-timeout MS] [--qemu X]
  media RUNTIME cdrom1|cdrom2 LOCATION | --eject [--out FILE]
      Prints the QMP plan, one JSON line per step as the executor sends it: {"execute",
      "arguments"}, plus "fd" when a descriptor travels with the command (SCM_RIGHTS) and
      "waitFor" when the step then waits for DEVICE_DELETED. --format plan prints the whole plan
      (descriptions, undo steps) as JSON. The runtime after the plan is written to --out FILE
      (keep it once the plan has run); without --out it is not written.
  runtime upgrade FILE
      Prints the file as Ganeti's upgrade (and this library's fixes) makes it.
  runtime downgrade FILE --format pre-hvinfo|ganeti-2.15|ganeti-2.16
      Prints the file an older reader understands; every device it cannot carry goes to stderr
      ("lost: ID: why").
  diff OLD NEW [--qemu X] [--machine M] [--format text|json]
      OLD is a runtime file or a spec, NEW a spec. Lists the devices moved (old → new place),
      added and removed; disks and NICs are matched by uuid, other devices by id. NEW is planned
      for --qemu, else its target.qemu, else the QEMU a runtime OLD records. Answers "will
      this change move my guest's PCI addresses?": exit 1 when anything moved.

Other: --help (also after a command), --version.

Exit codes:
  0  done (diff: nothing moved)
  1  diff: a device moved
  2  usage: an unknown command or flag, a missing or extra argument, an input that cannot be read,
     an --out file that cannot be written
  3  decode: an input (or a flag's value) is not valid: not JSON, or a field error
  4  placement: a bus is full, a place or id is taken, no device has that id
  5  unsupported: the target QEMU or the library cannot do it (a feature, a device, a file)
  70 internal: a bug; please report it
Errors go to stderr, each naming the file (or flag) and the field path; after an error nothing
is printed to stdout and nothing is written.
`
