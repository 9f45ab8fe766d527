"""The configuration layer: where Spark runs and where the data lives.

=============  ================================================================
``machine``    the machine's cores and memory as its cgroup allows, memory sizes
``files``      the course's ``mlcourse.toml``: finding it, reading it, its templates
``profiles``   the profiles (built in and from the file) resolved into one plan,
               :class:`SparkProfile`, with the origin of every value
``settings``   from that plan to the session builder's settings and the JVM's
               environment (log4j, sparkmonitor's listener, mlcourse's records)
``validation`` a profile's settings checked against the machine before a JVM starts
=============  ================================================================

Nothing here starts Spark or binds a port. Every public name of the four modules is
re-exported here (``from mlcourse.config import resolve_profile``).
"""

from mlcourse.config.files import (
    cache_dir as cache_dir,
    check_key as check_key,
    config_path as config_path,
    decode_text as decode_text,
    expand as expand,
    login_user as login_user,
    normalise_conf_key as normalise_conf_key,
    read_config as read_config,
    read_config_file as read_config_file,
    template_values as template_values,
)
from mlcourse.config.machine import (
    available_memory_bytes as available_memory_bytes,
    cpu_count as cpu_count,
    default_driver_memory as default_driver_memory,
    gib as gib,
    size_bytes as size_bytes,
    total_memory_bytes as total_memory_bytes,
)
from mlcourse.config.profiles import (
    BUILTIN_PROFILES as BUILTIN_PROFILES,
    SparkProfile as SparkProfile,
    data_dir as data_dir,
    resolve_profile as resolve_profile,
)
from mlcourse.config.settings import (
    LOG4J_CONFIG as LOG4J_CONFIG,
    listener_jar as listener_jar,
    session_records as session_records,
    spark_environment as spark_environment,
    spark_jars_dir as spark_jars_dir,
    spark_settings as spark_settings,
    spark_versions as spark_versions,
    sparkmonitor_conf as sparkmonitor_conf,
)
from mlcourse.config.validation import (
    check_settings as check_settings,
    local_cores as local_cores,
)

__all__ = [
    "BUILTIN_PROFILES",
    "LOG4J_CONFIG",
    "SparkProfile",
    "available_memory_bytes",
    "cache_dir",
    "check_key",
    "check_settings",
    "config_path",
    "cpu_count",
    "data_dir",
    "decode_text",
    "default_driver_memory",
    "expand",
    "gib",
    "listener_jar",
    "local_cores",
    "login_user",
    "normalise_conf_key",
    "read_config",
    "read_config_file",
    "resolve_profile",
    "session_records",
    "size_bytes",
    "spark_environment",
    "spark_jars_dir",
    "spark_settings",
    "spark_versions",
    "sparkmonitor_conf",
    "template_values",
    "total_memory_bytes",
]
