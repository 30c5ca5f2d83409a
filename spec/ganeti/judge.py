#!/usr/bin/python3
"""Ganeti 3.0.2's own hv_kvm as a judge (see judge.spec.ts).

Reads {"qemu": PATH, "instances": [DESCRIPTION, ...]} as JSON on stdin and writes one JSON
result per description, in order, as a JSON list on stdout. Run with PYTHONPATH holding the
unpacked Ganeti (scripts/ganeti-judge.sh), e.g.
PYTHONPATH=/opt/qemu-devplan/ganeti-3.0.2/usr/share/ganeti/3.0.

Ganeti's code runs unmodified and in-process; only what touches the host is patched out, as
Ganeti's own test/py/ganeti.hypervisor.hv_kvm_unittest.py does (TestKvmRuntime): directories,
files, tap devices, the QMP and monitor sockets, starting the process. What Ganeti learns from
QEMU it learns from the real QEMU at PATH: its `--help`, `-machine ?` and `-device ?` output,
run once, exactly the commands Ganeti's _GetKVMOutput runs.

A DESCRIPTION:
  {"name", "uuid", "network_port", "beparams": {...}, "hvparams": {...},   (over Ganeti's defaults)
   "disks": [{"uuid", "dev_type", "link", "uri", "access"?}],
   "nics": [{"uuid", "mac"}],
   "hotadd": {"disk": {"uuid", "dev_type", "link", "uri"}, "nic": {"uuid", "mac"}}}
A RESULT:
  {"ok": true,
   "syntax": null | "<CheckParameterSyntax's refusal>",
   "file": "<the runtime file, the text _SaveKVMRuntime writes>",
   "upgraded": "<Ganeti's _UpgradeSerializedRuntime of that file, serialized as Ganeti does>",
   "argv": [<the command _ExecuteKVMRuntime runs>],
   "taps": [{"fds": [...], "vhostfds": [...]}, ...]       (what the fake OpenTap gave each NIC)
   "hvinfo": {"disks": [...], "nics": [...]},
   "hotadd": {"disk": {"hvinfo": {...}} | {"refused": "..."},
              "nic": {"hvinfo": {...}, "taps": {"fds", "vhostfds"}} | {"refused": "..."}}}
  or {"ok": false, "error": "<exception>"} when Ganeti's code raised.
"""

import json
import logging
import subprocess
import sys
import traceback
from unittest import mock

from ganeti import constants
from ganeti import objects
from ganeti import serializer
from ganeti import utils
from ganeti.hypervisor import hv_kvm

KVM = "ganeti.hypervisor.hv_kvm.KVMHypervisor"


def kvm_outputs(qemu):
  """The real QEMU's answers to the commands of KVMHypervisor._KVMOPTS_CMDS."""
  out = {}
  for option, (args, can_fail) in hv_kvm.KVMHypervisor._KVMOPTS_CMDS.items():
    r = subprocess.run([qemu] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, check=False)
    if r.returncode != 0 and not can_fail:
      raise RuntimeError("%s %s failed: %s" % (qemu, " ".join(args), r.stdout))
    out[option] = r.stdout
  return out


class FakeTaps(object):
  """OpenTap without /dev/net/tun: as many tap fds as queues, and as many vhost fds when vhost is
  on (netdev.OpenTap's counts), numbered 100, 101, ... in the order they are opened."""

  def __init__(self):
    self.next_fd = 100
    self.opened = []

  def __call__(self, name="", features=None):
    features = features or {}
    _, queues = features.get("mq", (False, 1))
    tapfds = list(range(self.next_fd, self.next_fd + queues))
    self.next_fd += queues
    vhostfds = []
    if features.get("vhost", False):
      vhostfds = list(range(self.next_fd, self.next_fd + queues))
      self.next_fd += queues
    self.opened.append({"fds": tapfds, "vhostfds": vhostfds, "features": features})
    return ("tap%d" % (len(self.opened) - 1), tapfds, vhostfds)


def text(data):
  return data.decode("utf-8") if isinstance(data, bytes) else data


def make_disk(d, i):
  return objects.Disk(uuid=d["uuid"], dev_type=d["dev_type"],
                      logical_id=d.get("logical_id", ["xenvg", "disk%d" % i]),
                      iv_name="disk/%d" % i, size=1024, mode=constants.DISK_RDWR,
                      params=({constants.LDP_ACCESS: d["access"]}
                              if "access" in d else {}),
                      children=[])


def make_nic(n):
  return objects.NIC(uuid=n["uuid"], mac=n["mac"], name=n.get("name"),
                     nicparams={constants.NIC_MODE: constants.NIC_MODE_BRIDGED,
                                constants.NIC_LINK: "br0",
                                constants.NIC_VLAN: ""})


def make_instance(desc):
  hvparams = constants.HVC_DEFAULTS[constants.HT_KVM].copy()
  hvparams.update(desc.get("hvparams", {}))
  beparams = constants.BEC_DEFAULTS.copy()
  beparams.update(desc.get("beparams", {}))
  return objects.Instance(name=desc["name"], uuid=desc["uuid"],
                          primary_node="node1-uuid", hypervisor=constants.HT_KVM,
                          hvparams=hvparams, beparams=beparams,
                          network_port=desc.get("network_port", 0),
                          nics=[make_nic(n) for n in desc.get("nics", [])],
                          disks=[], os="debootstrap")


def judge(desc, outputs):
  instance = make_instance(desc)
  result = {"ok": True, "syntax": None}
  try:
    hv_kvm.KVMHypervisor.CheckParameterSyntax(instance.hvparams)
  except Exception as err:  # pylint: disable=W0703
    result["syntax"] = "%s: %s" % (type(err).__name__, err)

  saved = {}
  runs = []
  taps = FakeTaps()

  def write_runtime(_self, _name, data):
    saved["file"] = data

  def read_runtime(_self, _name):
    return saved["file"]

  def run_cmd(cmd, **_kwargs):
    runs.append(list(cmd))
    return mock.Mock(failed=False, output="", fail_reason="")

  patches = [
    mock.patch("ganeti.utils.EnsureDirs"),
    mock.patch("ganeti.utils.WriteFile"),
    mock.patch("ganeti.utils.RunCmd", side_effect=run_cmd),
    mock.patch("ganeti.hypervisor.hv_kvm.utils_wrapper.CloseFdNoError"),
    mock.patch("ganeti.hypervisor.hv_kvm.OpenTap", side_effect=taps),
    mock.patch(KVM + "._GetKVMOutput", side_effect=lambda _path, opt: outputs[opt]),
    mock.patch(KVM + ".ValidateParameters"),
    mock.patch(KVM + "._CheckDown"),
    mock.patch(KVM + "._ClearUserShutdown"),
    mock.patch(KVM + "._StartKvmd"),
    mock.patch(KVM + "._ConfigureNIC"),
    mock.patch(KVM + "._InstancePidAlive", return_value=("file", 4242, True)),
    mock.patch(KVM + "._ExecuteCpuAffinity"),
    mock.patch(KVM + "._CallMonitorCommand"),
    mock.patch(KVM + "._InstanceStartupMemory",
               side_effect=lambda inst: inst.beparams[constants.BE_MAXMEM]),
    mock.patch(KVM + "._WriteKVMRuntime", write_runtime),
    mock.patch(KVM + "._ReadKVMRuntime", read_runtime),
    mock.patch(KVM + "._VerifyHotplugCommand"),
    # An http(s) CD-ROM: Ganeti sends a HEAD request first.
    mock.patch("ganeti.hypervisor.hv_kvm._CheckUrl", return_value=True),
  ]
  for p in patches:
    p.start()
  try:
    hypervisor = hv_kvm.KVMHypervisor()
    hypervisor.qmp = mock.Mock()
    block_devices = [(make_disk(d, i), d["link"], d.get("uri"))
                     for i, d in enumerate(desc.get("disks", []))]
    # StartInstance, step by step, so that the file is kept before _ExecuteKVMRuntime extends
    # kvm_cmd in place.
    kvmhelp = outputs[hypervisor._KVMOPT_HELP]
    kvm_runtime = hypervisor._GenerateKVMRuntime(instance, block_devices, False,
                                                 kvmhelp)
    hypervisor._SaveKVMRuntime(instance, kvm_runtime)
    result["file"] = text(saved["file"])
    result["hvinfo"] = {
      "disks": [d.hvinfo for d, _, _ in kvm_runtime[3]],
      "nics": [n.hvinfo for n in kvm_runtime[1]],
    }
    result["upgraded"] = text(serializer.Dump(
      hv_kvm._UpgradeSerializedRuntime(saved["file"])))
    hypervisor._ExecuteKVMRuntime(instance, kvm_runtime, kvmhelp)
    kvm_runs = [c for c in runs if c and c[0] == instance.hvparams["kvm_path"]]
    if len(kvm_runs) != 1:
      raise RuntimeError("expected one QEMU command, got %r" % runs)
    result["argv"] = [str(w) for w in kvm_runs[0]]
    result["taps"] = [{"fds": t["fds"], "vhostfds": t["vhostfds"]} for t in taps.opened]

    result["hotadd"] = {}
    for kind, target in (("disk", constants.HOTPLUG_TARGET_DISK),
                         ("nic", constants.HOTPLUG_TARGET_NIC)):
      add = desc.get("hotadd", {}).get(kind)
      if add is None:
        continue
      saved["file"] = result["file"]
      hypervisor.qmp = mock.Mock()
      # What VerifyHotplugSupport refuses before HotAddDevice runs (its QMP checks aside).
      device_type = hv_kvm._DEVICE_TYPE[target](instance.hvparams)
      if device_type not in hv_kvm._HOTPLUGGABLE_DEVICE_TYPES[target]:
        result["hotadd"][kind] = {"refused": "Hotplug is not supported for device type %s" % device_type}
        continue
      if kind == "disk":
        device = make_disk(add, len(block_devices))
        extra = (add["link"], add.get("uri"))
        seq = len(block_devices)
      else:
        device = make_nic(add)
        extra = None
        seq = len(instance.nics)
      try:
        hypervisor.HotAddDevice(instance, target, device, extra, seq)
      except Exception as err:  # pylint: disable=W0703
        result["hotadd"][kind] = {"refused": "%s: %s" % (type(err).__name__, err)}
        continue
      result["hotadd"][kind] = {"hvinfo": device.hvinfo}
      if kind == "nic":
        result["hotadd"][kind]["taps"] = {"fds": taps.opened[-1]["fds"],
                                          "vhostfds": taps.opened[-1]["vhostfds"]}
  finally:
    for p in reversed(patches):
      p.stop()
  return result


def main():
  # Ganeti logs its overrides (cache=none on shared storage) as warnings: not the judge's output.
  logging.disable(logging.CRITICAL)
  request = json.load(sys.stdin)
  outputs = kvm_outputs(request["qemu"])
  results = []
  for desc in request["instances"]:
    try:
      results.append(judge(desc, outputs))
    except Exception as err:  # pylint: disable=W0703
      results.append({"ok": False, "error": "%s: %s" % (type(err).__name__, err),
                      "trace": traceback.format_exc()})
  json.dump({"ganeti": constants.RELEASE_VERSION if hasattr(constants, "RELEASE_VERSION")
             else None, "qemu_help": outputs[hv_kvm.KVMHypervisor._KVMOPT_HELP].splitlines()[0],
             "results": results}, sys.stdout)


if __name__ == "__main__":
  main()
