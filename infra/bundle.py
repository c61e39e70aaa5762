"""Code bundle: how the project's code travels to the host.

`pulumi up` packs the working tree's runtime files only (pyproject.toml, LICENSE, runner/, db/,
the host scripts of infra/host/; a stub README.md because pyproject names one) plus the
wheelhouse (dist/wheelhouse/*.whl, made by infra/host/build-wheelhouse.sh) into one reproducible
tar.gz, named by the sha256 of its *uncompressed* tar, and uploads it to a private, encrypted,
TLS-only S3 bucket. Editing docs, tests or the real README changes nothing on the host, and a
different zlib (another laptop, another Python) cannot change the name of the same content. The user data names the object and its sha256; the
host downloads it with its instance role, checks the hash and installs exactly that code. So the
host always runs the code of the stack's last `up`, and a code change is a new sha256: new user
data, a replaced instance, the same data volume.

The archive is reproducible (sorted entries, fixed mtime/owner/mode, gzip without timestamp), so
an unchanged tree gives the same sha256 and `pulumi up` changes nothing.

Without a wheelhouse the host installs the dependencies from PyPI, which needs internet egress
(NAT); with the default VPC endpoints and no NAT, build the wheelhouse first (docs/DEPLOY.md).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.buckets import lock_down
from infra.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
INCLUDE_FILES = ("pyproject.toml", "LICENSE")
INCLUDE_DIRS = ("runner", "db", "infra/host")
# Build-time only: changing them must not replace the host.
EXCLUDED_FILES = {"infra/host/build-wheelhouse.sh"}
# pyproject.toml names README.md (setuptools needs the file to install); the real one is docs,
# so the host gets this stub and README edits do not replace it.
STUB_README = (
    b"# revops-metrics (deployed)\n\nThe runtime files of the RevOps metrics pipeline, as shipped "
    b"to the host by the Pulumi stack. Documentation: README.md and docs/ in the repository.\n"
)
WHEELHOUSE = Path("dist") / "wheelhouse"
EXCLUDED_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class BuiltBundle:
    path: Path
    sha256: str
    files: tuple[str, ...]
    has_wheels: bool

    @property
    def key(self) -> str:
        return f"bundles/revops-{self.sha256}.tar.gz"


def _wanted(rel: Path) -> bool:
    if any(part in EXCLUDED_PARTS or part.endswith(".egg-info") for part in rel.parts):
        return False
    return rel.as_posix() not in EXCLUDED_FILES and not rel.name.endswith(EXCLUDED_SUFFIXES)


def wheelhouse_dir() -> Path:
    """The wheels `pulumi up` ships to the host: $REVOPS_WHEELHOUSE, else dist/wheelhouse."""
    return Path(os.environ.get("REVOPS_WHEELHOUSE") or REPO_ROOT / WHEELHOUSE)


def bundle_members(
    root: Path = REPO_ROOT, wheels: Path | None = None
) -> list[tuple[str, Path | bytes]]:
    """(archive name, source path or content) of every file that goes into the bundle, sorted.

    `wheels` is the wheelhouse directory (default: root/dist/wheelhouse)."""
    members: dict[str, Path | bytes] = {"README.md": STUB_README}
    for name in INCLUDE_FILES:
        if (root / name).is_file():
            members[name] = root / name
    for directory in INCLUDE_DIRS:
        base = root / directory
        if not base.is_dir():
            continue
        for path in base.rglob("*"):
            rel = path.relative_to(root)
            if path.is_file() and not path.is_symlink() and _wanted(rel):
                members[rel.as_posix()] = path
    wheels = wheels or root / WHEELHOUSE
    if wheels.is_dir():
        for path in wheels.glob("*.whl"):
            members[f"wheels/{path.name}"] = path
    return sorted(members.items())


def _tar_bytes(members: list[tuple[str, Path | bytes]]) -> bytes:
    """The uncompressed tar: what the bundle's sha256 is taken over."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, source in members:
            data = source if isinstance(source, bytes) else source.read_bytes()
            executable = not isinstance(source, bytes) and os.access(source, os.X_OK)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mode = 0o755 if executable else 0o644
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _gzip(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return out.getvalue()


def build_bundle(out_dir: Path, root: Path = REPO_ROOT, wheels: Path | None = None) -> BuiltBundle:
    """Write the reproducible bundle to out_dir/revops-<sha256>.tar.gz (atomically)."""
    members = bundle_members(root, wheels)
    if not any(name == "pyproject.toml" for name, _ in members):
        raise FileNotFoundError(f"{root} has no pyproject.toml: not the project root")
    tar = _tar_bytes(members)
    sha = hashlib.sha256(tar).hexdigest()
    data = _gzip(tar)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"revops-{sha}.tar.gz"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    names = tuple(name for name, _ in members)
    return BuiltBundle(path, sha, names, any(n.startswith("wheels/") for n in names))


def default_out_dir() -> Path:
    """Where bundles are written: $REVOPS_BUNDLE_DIR, else dist/bundles (git-ignored)."""
    return Path(os.environ.get("REVOPS_BUNDLE_DIR") or REPO_ROOT / "dist" / "bundles")


class CodeBundle(pulumi.ComponentResource):
    """Private encrypted bucket holding the code bundle of this stack."""

    bucket: aws.s3.Bucket
    object: aws.s3.BucketObjectv2
    built: BuiltBundle

    def __init__(
        self,
        name: str,
        settings: Settings,
        built: BuiltBundle,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("revops:infra:CodeBundle", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.built = built
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket_prefix=settings.bucket_prefix("code"),
            force_destroy=True,  # holds only rebuildable bundles
            tags={"revops:stack": settings.stack},
            opts=child,
        )
        controls = lock_down(name, self.bucket, self)
        self.object = aws.s3.BucketObjectv2(
            f"{name}-object",
            bucket=self.bucket.id,
            key=built.key,
            source=pulumi.FileAsset(str(built.path)),
            content_type="application/gzip",
            server_side_encryption="AES256",
            metadata={"sha256-uncompressed": built.sha256},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[controls.encryption]),
        )
        self.register_outputs({"bucket": self.bucket.id, "key": built.key})

    @property
    def uri(self) -> pulumi.Output[str]:
        key = self.built.key
        return pulumi.Output.from_input(self.bucket.id).apply(lambda bucket: f"s3://{bucket}/{key}")

    @property
    def object_arn(self) -> pulumi.Output[str]:
        key = self.built.key
        return pulumi.Output.from_input(self.bucket.arn).apply(lambda arn: f"{arn}/{key}")
