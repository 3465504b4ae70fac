"""A quiet local Spark for ``nbsplit run``: a ``SPARK_CONF_DIR`` every kernel of the run gets.

Spark reads it when the JVM starts, whoever builds the session (our ``spark`` stand-in or the
notebook's own ``SparkSession.builder``), so log4j's WARN lines and the ``[Stage N:>`` progress
bars stay out of the terminal and of the executed notebooks (ipykernel captures the JVM's stderr
into cell outputs). Errors still print.
"""

from __future__ import annotations

from pathlib import Path

from nbsplit.write import atomic_write_text

__all__ = ["ENV_SPARK_CONF_DIR", "write_spark_conf"]

ENV_SPARK_CONF_DIR = "SPARK_CONF_DIR"

LOG4J2 = """\
# nbsplit run: errors only (Spark's default profile prints WARN lines to the console).
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
# The gateway PySpark starts reads its own level; equal to the root's, Spark prints no
# "Setting default log level" banner.
logger.pygateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.pygateway.level = error
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
"""

# The driver JVM of a local run lives for one stage on small data: the C1 compiler alone and the
# serial collector start and finish it sooner (measured: a session start plus a small ML fit took
# 15-20 s instead of 25-35 s on a busy 2-core machine). Flags of the JVM only: results are the same.
SPARK_DEFAULTS = """\
spark.ui.showConsoleProgress false
spark.driver.extraJavaOptions -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
"""


def write_spark_conf(folder: Path) -> Path:
    """Write the configuration into ``folder`` (created) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "log4j2.properties", LOG4J2)
    atomic_write_text(folder / "spark-defaults.conf", SPARK_DEFAULTS)
    return folder
