"""Log lines: one record, one line, key=value, whatever the values hold."""

from __future__ import annotations

import logging

from monitor.log import LogfmtFormatter, kv


def line(msg: str, **fields: object) -> str:
    record = logging.LogRecord("monitor.test", logging.INFO, __file__, 1, msg, None, None)
    for key, value in kv(**fields).items():
        setattr(record, key, value)
    return LogfmtFormatter().format(record)


def test_it_writes_key_value_pairs_quoting_only_when_needed() -> None:
    text = line("state changed", target="web", detail="no answer within 10s")
    assert 'msg="state changed" target=web detail="no answer within 10s"' in text
    assert text.startswith("ts=") and " level=info logger=monitor.test " in text


def test_a_value_with_cr_or_lf_cannot_forge_a_second_line() -> None:
    text = line("probe", detail="220 ok\r\nts=x level=error msg=forged")
    assert "\n" not in text and "\r" not in text
    assert 'detail="220 ok\\r\\nts=x level=error msg=forged"' in text
