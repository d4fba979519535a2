"""The SSRF rule of ``app.webhooks.addresses``: only public unicast addresses, whatever their
spelling."""

from __future__ import annotations

import ipaddress

import pytest

from app.webhooks.addresses import is_internal, is_loopback

INTERNAL = [
    "127.0.0.1",
    "127.1.2.3",
    "::1",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",  # noqa: S104 - a value under test, not a bind address
    "255.255.255.255",
    "224.0.0.1",
    "240.0.0.1",
    "192.0.2.1",
    "198.18.0.1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a00:1",
    "2002:a00:1::",
    "::a00:1",
    "2001:db8::1",
]
PUBLIC = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("text", INTERNAL)
def test_internal_addresses_are_refused(text: str) -> None:
    assert is_internal(ipaddress.ip_address(text))


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_pass(text: str) -> None:
    assert not is_internal(ipaddress.ip_address(text))


def test_loopback_in_any_spelling() -> None:
    for text in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert is_loopback(ipaddress.ip_address(text))
    assert not is_loopback(ipaddress.ip_address("10.0.0.1"))
