"""Benchmarks (`make bench`): every bench adds rows to one report, printed as a table at the end of the run.

The benches work on the test database outside any test transaction (they time real commits and DDL), so each
one drops what it created.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
from django.db import connection


@dataclass(frozen=True)
class BenchRow:
    name: str
    figure: float
    unit: str
    baseline_name: str = ""
    baseline_figure: float | None = None
    higher_is_better: bool = False

    @property
    def ratio(self) -> float | None:
        """How many times better than the baseline (> 1: better), whichever way the unit points."""
        if not self.baseline_figure or not self.figure:
            return None
        return self.figure / self.baseline_figure if self.higher_is_better else self.baseline_figure / self.figure


@dataclass
class BenchReport:
    rows: list[BenchRow] = field(default_factory=list)

    def add(self, name: str, figure: float, unit: str, *, baseline_name: str = "",
            baseline_figure: float | None = None, higher_is_better: bool = False) -> None:
        self.rows.append(BenchRow(name, figure, unit, baseline_name, baseline_figure, higher_is_better))

    def table(self) -> list[str]:
        header = ("benchmark", "figure", "unit", "baseline", "baseline figure", "ratio")
        cells = [header] + [
            (row.name, _number(row.figure), row.unit, row.baseline_name,
             "" if row.baseline_figure is None else _number(row.baseline_figure),
             "" if row.ratio is None else f"{row.ratio:.2f}x")
            for row in self.rows
        ]
        widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
        numeric = {1, 4, 5}
        lines = []
        for n, line in enumerate(cells):
            lines.append("  ".join(cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
                                   for i, cell in enumerate(line)).rstrip())
            if n == 0:
                lines.append("  ".join("-" * width for width in widths))
        return lines


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value >= 1 else f"{value:.3f}"


REPORT = pytest.StashKey[BenchReport]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[REPORT] = BenchReport()


@pytest.fixture(scope="session")
def report(request: pytest.FixtureRequest) -> BenchReport:
    return request.config.stash[REPORT]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    bench_report = config.stash.get(REPORT, None)
    if not bench_report or not bench_report.rows:
        return
    terminalreporter.section("benchmarks (ratio: times better than the baseline)")
    for line in bench_report.table():
        terminalreporter.write_line(line)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    terminalreporter.write_line(f"{os.cpu_count()} CPUs, load average {load} (1, 5, 15 min) at the end")


@pytest.fixture
def bench_db(transactional_db):
    """The test database without a wrapping transaction: benches time real commits and DDL, and drop what they
    create. (Asking for transactional_db also makes pytest-django create the test database at all: a bench
    that only unblocked the database would run against the development one.)"""
    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()
