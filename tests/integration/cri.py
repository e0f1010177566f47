"""A CRI image pull, the way the kubelet asks containerd for one: the pull runs in containerd itself.

``ctr pull`` fetches in the client process, so it never sees containerd's own
environment (its proxy) nor answers for what a kubelet would get. This sends
runtime.v1.ImageService/PullImage over containerd's socket in a lab host, reached
through /proc/PID/root of the host's container (the test runs as root). The two
messages are encoded by hand: each holds one string field.
"""

import shutil
import subprocess

import grpc

PULL = "/runtime.v1.ImageService/PullImage"
SOCKET = "/run/containerd/containerd.sock"


def length_delimited(field: int, payload: bytes) -> bytes:
    """A protobuf length-delimited field: tag, varint length, bytes."""
    size, varint = len(payload), bytearray()
    while True:
        byte, size = size & 0x7F, size >> 7
        varint.append(byte | (0x80 if size else 0))
        if not size:
            break
    return bytes([field << 3 | 2]) + bytes(varint) + payload


def first_string(message: bytes) -> str:
    """Field 1 of a reply that starts with it (PullImageResponse.image_ref)."""
    if not message or message[0] != 0x0A:
        return ""
    size, shift, at = 0, 0, 1
    while True:
        byte = message[at]
        size |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            break
    return message[at:at + size].decode()


def host_socket(container: str) -> str:
    pid = subprocess.run([shutil.which("docker"), "inspect", "-f", "{{.State.Pid}}", container], check=True,
                         stdout=subprocess.PIPE, text=True).stdout.strip()
    return "/proc/%s/root%s" % (pid, SOCKET)


def pull(container: str, image: str, timeout: float = 90) -> str:
    """Ask containerd in ``container`` to pull ``image``; returns its image ref, raises grpc.RpcError."""
    request = length_delimited(1, length_delimited(1, image.encode()))  # PullImageRequest{image: ImageSpec{image}}
    with grpc.insecure_channel("unix://" + host_socket(container)) as channel:
        call = channel.unary_unary(PULL, request_serializer=None, response_deserializer=None)
        return first_string(call(request, timeout=timeout))
