"""Training on several processes with torch's DistributedDataParallel, launched by ``torchrun``.

The trainer asks a :class:`Distributed` object at a few points; with one process (no torchrun
environment) every answer is the trainer's own value, unchanged, so single-process runs stay
exactly what they were.

Under ``torchrun`` (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR set) each process:

* joins one process group: NCCL for CUDA tensors and gloo for CPU tensors (control messages —
  stop flags, shard checks, checkpoint bytes — always go over gloo, so they never wait on a GPU);
* trains on ``cuda:LOCAL_RANK`` (or the CPU) its shard of every epoch's shuffled order. All
  processes draw the same seeded permutation, and process ``r`` takes positions ``r, r+W, r+2W …``
  of it, as torch's DistributedSampler does. Uneven counts are **dropped**, not padded: the last
  ``n mod W`` images of each epoch's order are left out of that epoch (at most W-1 images, a
  different few each epoch), so every process runs the same number of optimizer steps and no
  image counts twice;
* averages gradients through DDP; epoch totals and validation sums (loss sum, correct count,
  image count) are summed over processes, so every metric is the exact one of the whole data, not
  a mean of means, and every process takes the same early-stopping decision; the plotted batch
  loss is the mean over processes (the same everywhere, so a NaN stops all of them at once);
  batch-norm statistics are rank 0's, broadcast before validation as DDP does before a forward;
* stops after the same batch as the others: a stop wish (signal, stop file, user) is combined
  with a max-reduction at every check, so all processes see the same answer at the same step;
* writes nothing unless it is rank 0, which alone creates the run folder and writes the log,
  metrics, summary and checkpoints.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from workbench.config import ConfigError
from workbench.engine.checkpoint import load_checkpoint
from workbench.engine.device import resolve_device
from workbench.runs import RunFolder

# Under CUDA the stop check costs a network round trip; every few batches is prompt enough.
_STOP_CHECK_EVERY_CUDA = 5


def launched_by_torchrun() -> bool:
    """True in a process started by torchrun (or any launcher setting torch's env variables)."""
    return all(k in os.environ for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR"))


class FollowerRunFolder(RunFolder):
    """The run folder as seen by ranks other than 0: same paths, no writes."""

    def write_json(self, path, data) -> None:
        pass

    def write_metrics(self, history) -> None:
        pass

    def append_log(self, line: str) -> None:
        pass

    def remove_stale_temp_files(self) -> list[Path]:
        return []


class Distributed:
    """One process's place in the run. ``Distributed()`` is the single-process case."""

    def __init__(self, rank: int = 0, world_size: int = 1, local_rank: int = 0, active: bool = False):
        self.rank, self.world_size, self.local_rank, self.active = rank, world_size, local_rank, active
        self.device: torch.device | None = None
        self._stop_wish = threading.Event()
        self._ddp: nn.Module | None = None
        self._ddp_key: tuple | None = None
        self._log: Callable[[str], None] = lambda message: None
        self._owns_group = False

    # Set-up and tear-down ---------------------------------------------------------------------
    @classmethod
    def from_environment(cls, requested_device: str) -> Distributed:
        """Join the process group when launched by torchrun; otherwise the single-process case."""
        if not launched_by_torchrun():
            return cls()
        import torch.distributed as dist

        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local_rank = int(os.environ["LOCAL_RANK"])
        self = cls(rank, world, local_rank, active=True)
        device = resolve_device(requested_device)
        if device.type == "mps":
            raise ConfigError(["several processes train on CUDA GPUs or on the CPU; "
                               "choose device cuda or cpu under torchrun"])
        if device.type == "cuda":
            if local_rank >= torch.cuda.device_count():
                raise ConfigError([f"torchrun started {local_rank + 1}+ processes on this machine but it "
                                   f"has {torch.cuda.device_count()} CUDA GPU(s); lower --nproc_per_node"])
            self.device = torch.device("cuda", local_rank)
            torch.cuda.set_device(self.device)
            backend = "cpu:gloo,cuda:nccl"
        else:
            self.device = torch.device("cpu")
            backend = "gloo"
        if not dist.is_initialized():  # a script of the user's may have joined one already
            dist.init_process_group(backend=backend)
            self._owns_group = True
        return self

    def set_log(self, log: Callable[[str], None]) -> None:
        self._log = log

    def close(self) -> None:
        """Leave the process group (every process calls this once, at the end of the run)."""
        if self.active:
            import torch.distributed as dist

            if self._owns_group and dist.is_initialized():
                dist.destroy_process_group()
            self.active = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def resolve_device(self, requested: str) -> torch.device:
        """The device this process trains on: its own GPU under torchrun."""
        return self.device if self.active else resolve_device(requested)

    def run_folder(self, make: Callable[[], RunFolder]) -> RunFolder:
        """Rank 0 creates (or opens) the run folder; the others learn its path, or its error."""
        if not self.active:
            return make()
        folder, message = None, {}
        if self.is_main:
            try:
                folder = make()
                message = {"path": str(folder.path)}
            except FileExistsError as exc:
                message = {"error": str(exc)}
        message = json.loads(self.broadcast_bytes(json.dumps(message).encode()))
        if "error" in message:
            raise FileExistsError(message["error"])
        return folder if self.is_main else FollowerRunFolder(message["path"])

    # Data ------------------------------------------------------------------------------------
    def shard_size(self, n: int) -> int:
        """Images each process trains on per epoch (the remainder of n ÷ processes is dropped)."""
        return n // self.world_size

    def train_shard(self, order: torch.Tensor, epoch: int, first: bool, drawn: bool = False) -> torch.Tensor:
        """This process's part of the epoch's order (the same permutation on every process).

        Every process reports which images it got; the counts are summed, so a shard that
        overlaps another (say, a shuffle that drifted apart after a resume) is caught and logged.
        ``drawn``: the order is a balanced sampler's draw with replacement, where an image may
        well be in two shards; then every process checks instead that all drew the same order.
        """
        if not self.active:
            return order
        usable = self.shard_size(len(order)) * self.world_size
        shard = order[self.rank:usable:self.world_size]
        if drawn:
            self._check_same_draw(order, epoch, first, len(shard))
            return shard
        seen = torch.zeros(len(order), dtype=torch.int32)
        seen[shard] = 1
        self._all_reduce(seen)
        twice, left_out = int((seen > 1).sum()), int((seen == 0).sum())
        if first or twice:
            self._log(f"Epoch {epoch + 1}: {self.world_size} processes trained on {len(shard)} images each; "
                      f"{twice} images seen by more than one process, {left_out} left out of this epoch "
                      "to even the shards.")
        return shard

    def _check_same_draw(self, order: torch.Tensor, epoch: int, first: bool, shard: int) -> None:
        """Log when the processes' balanced draws differ (their shards would not split one draw)."""
        mine = torch.tensor([int.from_bytes(hashlib.sha256(order.numpy().tobytes()).digest()[:7], "little")],
                            dtype=torch.int64)
        low, high = mine.clone(), mine.clone()
        self._all_reduce(high, op="max")
        low.neg_()
        self._all_reduce(low, op="max")
        same = int(high) == -int(low)
        if first or not same:
            self._log(f"Epoch {epoch + 1}: {self.world_size} processes trained on {shard} images each of "
                      f"one balanced draw{'' if same else ' (the processes drew different orders)'}.")

    def val_indices(self, n: int) -> torch.Tensor | None:
        """Contiguous, near-equal parts of the validation set (none dropped); None: all of it."""
        if not self.active:
            return None
        return torch.arange(n).tensor_split(self.world_size)[self.rank]

    # Model -----------------------------------------------------------------------------------
    def training_model(self, model: nn.Module) -> nn.Module:
        """The module to run the training forward pass through: a DDP wrapper under torchrun.

        DDP fixes the set of parameters it averages when it is built, so it is rebuilt when
        freezing or unfreezing the backbone changes which parameters train. Checkpoints keep
        the unwrapped model's state_dict (no ``module.`` prefix).
        """
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        key = tuple(p.requires_grad for p in model.parameters())
        if self._ddp is None or self._ddp_key != key:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self._ddp = DistributedDataParallel(model, device_ids=ids)
            self._ddp_key = key
        return self._ddp

    def sync_buffers(self, model: nn.Module) -> None:
        """Give every process rank 0's buffers (batch-norm statistics), as DDP does before each
        forward pass, so validation and checkpoints use the same model everywhere."""
        if not self.active:
            return
        import torch.distributed as dist

        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)

    def weights_report(self, model: nn.Module) -> dict:
        """Rank 0 gathers a checksum of every process's parameters: a real check that DDP kept
        the copies identical. Empty for one process."""
        if not self.active:
            return {}
        digest = hashlib.sha256()
        for name, param in model.named_parameters():
            digest.update(name.encode())
            digest.update(param.detach().cpu().contiguous().numpy().tobytes())
        mine = digest.hexdigest()
        sums = [self.broadcast_bytes(mine.encode() if r == self.rank else None, src=r).decode()
                for r in range(self.world_size)]
        same = len(set(sums)) == 1
        self._log(f"Final weights identical on all {self.world_size} processes: {same} "
                  f"(sha256 {', '.join(s[:12] for s in sums)}).")
        return {"processes": self.world_size, "weights_identical_across_processes": same}

    # Reductions ------------------------------------------------------------------------------
    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """Element-wise mean over processes (batch losses for the plots and the NaN check)."""
        if not self.active:
            return values
        values = values.clone()
        self._all_reduce(values)
        return values / self.world_size

    def sums(self, *values) -> tuple:
        """Sums over processes of numbers or 0-d tensors (in float64: counts stay exact)."""
        if not self.active:
            return values
        device = self.device
        packed = torch.stack([torch.as_tensor(v, dtype=torch.float64, device=device).reshape(())
                              for v in values])
        self._all_reduce(packed)
        # Plain numbers come back as plain numbers, tensors as tensors (on the device).
        return tuple(type(v)(t.item()) if isinstance(v, int | float) else t
                     for v, t in zip(values, packed.unbind(), strict=True))

    def reduce_evaluation(self, result: dict) -> dict:
        """Loss and accuracy of the whole validation set from every process's sums."""
        if not self.active:
            return result
        loss_sum, correct, count = (float(v) for v in self.sums(
            result["loss_sum"], result["correct"], result["count"]))
        return {**result, "loss": loss_sum / max(count, 1), "accuracy": correct / max(count, 1),
                "count": int(count), "loss_sum": loss_sum, "correct": int(round(correct))}

    # Stopping --------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """A stop wish of this process (signal handler, stop file); shared at the next check."""
        self._stop_wish.set()

    @property
    def stop_wished(self) -> bool:
        return self._stop_wish.is_set()

    def agree_stop(self, stop: threading.Event, step: int | None = None) -> bool:
        """Whether the run stops now. One process: ``stop`` as it is. Several: any process's wish
        stops all of them, checked at the same steps everywhere (every batch on the CPU, every
        few on GPUs; ``step=None`` always checks); ``stop`` is set once they agree."""
        if not self.active:
            return stop.is_set()
        if stop.is_set():
            return True
        if step is not None and self.device.type == "cuda" and step % _STOP_CHECK_EVERY_CUDA:
            return False
        flag = torch.tensor([1 if self._stop_wish.is_set() else 0], dtype=torch.int32)
        self._all_reduce(flag, op="max")
        if flag.item():
            stop.set()
        return stop.is_set()

    # Checkpoints -----------------------------------------------------------------------------
    def read_checkpoint(self, path: Path) -> dict | None:
        """Rank 0 reads the checkpoint file and sends its bytes to every process (other machines
        need not see the run folder); each loads them with ``weights_only=True``."""
        if not self.active:
            return load_checkpoint(path) if path.exists() else None
        data = path.read_bytes() if self.is_main and path.exists() else b""
        data = self.broadcast_bytes(data)
        if not data:
            return None
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)

    # Transport -------------------------------------------------------------------------------
    def broadcast_bytes(self, data: bytes | None, src: int = 0) -> bytes:
        """``data`` of process ``src`` on every process, over gloo (CPU tensors)."""
        import torch.distributed as dist

        size = torch.tensor([len(data) if self.rank == src else 0], dtype=torch.int64)
        dist.broadcast(size, src=src)
        buf = (torch.frombuffer(bytearray(data), dtype=torch.uint8) if self.rank == src and size.item()
               else torch.empty(int(size.item()), dtype=torch.uint8))
        if size.item():
            dist.broadcast(buf, src=src)
        return buf.numpy().tobytes()

    def _all_reduce(self, tensor: torch.Tensor, op: str = "sum") -> None:
        import torch.distributed as dist

        dist.all_reduce(tensor, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)

    def decorrelate(self, generator: torch.Generator, seed: int, epoch: int) -> None:
        """Give ranks above 0 their own augmentation stream for ``epoch``, so images on different
        processes do not get the same random transforms. Rank 0 keeps the run's stream (saved in
        last.pt); the others' depend only on (seed, epoch, rank), so a resume continues exactly."""
        if self.active and self.rank > 0:
            key = hashlib.sha256(f"{seed}:{epoch}:{self.rank}".encode()).digest()
            generator.manual_seed(int.from_bytes(key[:8], "little") >> 1)
