"""`feedback` refuses bad settings and arguments clearly, before touching any data."""

import pytest

from feedback import cli


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (
            ["run", "--as-of", "2026-02-30"],
            {},
            "feedback run failed: run date '2026-02-30' is not a date like 2026-04-01",
        ),
        (
            ["run", "--as-of", "1-4-2026"],
            {},
            "feedback run failed: run date '1-4-2026' is not a date like 2026-04-01",
        ),
        (
            ["run", "--as-of", "2026-04-01"],
            {"FEEDBACK_SMTP_HOST": "127.0.0.1", "FEEDBACK_SMTP_PORT": "smtp"},
            "feedback run failed: FEEDBACK_SMTP_PORT='smtp' is not a port number",
        ),
    ],
)
def test_bad_input_exits_1_with_a_clear_message(tmp_path, monkeypatch, capsys, argv, env, message):
    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli.main(argv) == 1
    assert capsys.readouterr().err.strip() == message
    assert list(tmp_path.iterdir()) == []
