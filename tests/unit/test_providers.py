"""Provider presets and what --provider does to --target (no network)."""

from __future__ import annotations

import pytest

from migrator.domain import providers
from migrator.domain.config import parse_target
from migrator.domain.errors import UsageError


def test_get_by_name_and_alias():
    assert providers.get("gmail").host == "imap.gmail.com"
    assert providers.get("Google").name == "gmail"
    assert providers.get("m365").name == "office365"
    assert providers.get("hotmail").name == "outlook"
    assert providers.get("yahoo.co.jp").name == "yahoo-japan"


def test_unknown_provider_is_a_usage_error_listing_the_known_ones():
    with pytest.raises(UsageError) as err:
        providers.get("nosuchmail")
    assert "gmail" in err.value.hint and "icloud" in err.value.hint


def test_the_limits_the_plan_needs():
    g = providers.get("gmail")
    assert g.max_message_bytes == 35_651_584  # Gmail's advertised APPENDLIMIT
    assert g.daily_upload_bytes == 500_000_000
    assert g.app_password_needed and not g.oauth_only and g.imap_must_be_enabled
    assert g.sent == "[Gmail]/Sent Mail" and g.folders_localized
    ic = providers.get("icloud")
    assert ic.max_message_bytes == 20_000_000 and ic.sent == "Sent Messages" and ic.trash == "Deleted Messages"
    assert providers.get("office365").oauth_only and providers.get("outlook").oauth_only
    assert providers.get("gmail").folders["all"] == "[Gmail]/All Mail"


def test_every_preset_is_complete():
    seen = set()
    for p in providers.PRESETS:
        assert p.name not in seen
        seen.add(p.name)
        assert p.host and p.port == 993 and p.tls == "implicit", p.name  # all publish implicit TLS on 993
        assert p.sources, f"{p.name}: where do the numbers come from?"
        assert p.settings_hint, p.name
        assert providers.get(p.name) is p
    assert {"gmail", "icloud", "outlook", "office365", "yahoo", "yahoo-japan", "docomo", "ocn", "nifty"} <= seen


def test_icloud_user_name_forms():
    ic = providers.get("icloud")
    assert ic.user_alternatives("john@icloud.com") == ["john"]
    assert ic.user_alternatives("john") == ["john@icloud.com"]
    assert ic.user_alternatives("john@example.com") == []  # a custom domain: the full address is the only form
    assert providers.get("gmail").user_alternatives("john") == []


def test_detect_by_host_and_address():
    assert providers.detect("imap.gmail.com").name == "gmail"
    assert providers.detect("IMAP.MAIL.ME.COM.").name == "icloud"
    assert providers.detect(user="me@yahoo.co.jp").name == "yahoo-japan"
    assert providers.detect("outlook.office365.com", "me@hotmail.com").name == "outlook"
    assert providers.detect("outlook.office365.com", "me@contoso.com").name == "office365"
    assert providers.detect("mail.example.com", "me@gmail.com") is None  # the host decides when given
    assert providers.detect("127.0.0.1") is None


def test_target_from_a_preset():
    t = parse_target("me@gmail.com", provider="gmail")
    assert (t.scheme, t.user, t.host, t.port, t.provider) == ("imaps", "me@gmail.com", "imap.gmail.com", 993, "gmail")
    t = parse_target("imaps://john@", provider="icloud")
    assert (t.user, t.host, t.port) == ("john", "imap.mail.me.com", 993)
    t = parse_target("imaps://john@127.0.0.1:10993", provider="icloud")  # an explicit host wins
    assert (t.host, t.port, t.provider) == ("127.0.0.1", 10993, "icloud")


def test_target_recognises_the_provider():
    assert parse_target("imaps://me@gmail.com@imap.gmail.com").provider == "gmail"
    assert parse_target("me@gmail.com").host == "imap.gmail.com"  # a bare address of a known provider
    assert parse_target("imaps://u@mail.example.com").provider is None
    with pytest.raises(UsageError):
        parse_target("me@example.com")  # unknown provider: a URL is needed
    with pytest.raises(UsageError):
        parse_target("me", provider="nosuch")


def test_cli_unknown_provider_and_missing_token(monkeypatch, capsys):
    from migrator.cli import main

    monkeypatch.setenv("MIGRATE_PASSWORD", "x")
    assert main(["check", "--provider", "nosuch", "--target", "me"]) == 2
    assert "unknown provider" in capsys.readouterr().err
    monkeypatch.delenv("MIGRATE_PASSWORD")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["check", "--provider", "gmail", "--target", "me@gmail.com", "--oauth2"]) == 2
    err = capsys.readouterr().err
    assert "MIGRATE_PASSWORD" in err and "Traceback" not in err
