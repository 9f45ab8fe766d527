"""Profiles and configuration precedence: built-in < file < environment < arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcourse import ConfigError, resolve_profile
from mlcourse.config import BUILTIN_PROFILES, config_path, login_user


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_default_is_local_with_all_cores(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("mlcourse.config.profiles.cpu_count", lambda: 3)
    p = resolve_profile()
    assert p.name == "local"
    assert p.master == "local[3]"
    assert p.sources["profile"] == "built-in default"
    assert p.data_dir == "./data"
    assert p.conf["spark.driver.host"] == "127.0.0.1"
    assert p.conf["spark.sql.shuffle.partitions"] == "6"
    assert p.config_file is None


def test_workers_set_local_cores(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert resolve_profile("local", workers=5).master == "local[5]"


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True])
def test_bad_workers(bad):
    with pytest.raises(ConfigError, match="workers"):
        resolve_profile(workers=bad)


def test_binder_fits_small_container(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = resolve_profile("binder")
    assert p.master == "local[2]"
    assert p.conf["spark.driver.memory"] == "768m"


def test_unknown_profile_lists_known(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "mlcourse.toml", '[profiles.mine]\nmaster = "local[1]"\n')
    with pytest.raises(ConfigError) as err:
        resolve_profile("nope")
    message = str(err.value)
    for name in [*BUILTIN_PROFILES, "mine"]:
        assert name in message
    assert "[profiles.nope]" in message


def test_file_overrides_builtin_and_adds_profiles(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path / "mlcourse.toml",
        """
default = "course"
[profiles.local]
"spark.driver.memory" = "3g"
data_dir = "/scratch/{user}/higgs"
[profiles.course]
master = "local[1]"
"spark.sql.shuffle.partitions" = 7
"spark.eventLog.enabled" = true
""",
    )
    p = resolve_profile()
    assert p.name == "course"
    assert p.sources["profile"].startswith("config file")
    assert p.master == "local[1]"
    assert p.conf["spark.sql.shuffle.partitions"] == "7"
    assert p.conf["spark.eventLog.enabled"] == "true"
    local = resolve_profile("local")
    assert local.conf["spark.driver.memory"] == "3g"
    assert local.data_dir == f"/scratch/{login_user()}/higgs"
    assert local.sources["data_dir"].startswith("config file")


def test_environment_beats_file_and_argument_beats_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path / "mlcourse.toml",
        'default = "binder"\n[profiles.standalone]\nmaster = "spark://10.0.0.1:7077"\n',
    )
    assert resolve_profile().name == "binder"
    monkeypatch.setenv("MLCOURSE_PROFILE", "standalone")
    p = resolve_profile()
    assert (p.name, p.master) == ("standalone", "spark://10.0.0.1:7077")
    monkeypatch.setenv("MLCOURSE_MASTER", "spark://127.0.0.1:7999")
    monkeypatch.setenv("MLCOURSE_DATA_DIR", "hdfs://nn:8020/data")
    p = resolve_profile()
    assert p.master == "spark://127.0.0.1:7999"
    assert p.sources["master"] == "env MLCOURSE_MASTER"
    assert p.data_dir == "hdfs://nn:8020/data"
    p = resolve_profile("local", workers=1, conf={"spark_executor_memory": "2g"})
    assert p.name == "local" and p.sources["profile"] == "argument"
    assert p.conf["spark.executor.memory"] == "2g"
    assert p.sources["spark.executor.memory"] == "argument"


def test_config_file_lookup_order(tmp_path, monkeypatch):
    home_cfg = tmp_path / "xdg" / "mlcourse"
    home_cfg.mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert config_path() is None
    user = write(home_cfg / "mlcourse.toml", "")
    assert config_path() == user
    env = write(tmp_path / "env.toml", "")
    monkeypatch.setenv("MLCOURSE_CONFIG", str(env))
    assert config_path() == env
    local = write(work / "mlcourse.toml", "")
    assert config_path() == local


def test_missing_env_config_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLCOURSE_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match="no such file"):
        resolve_profile()


def test_bad_toml_and_unknown_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "mlcourse.toml", "[profiles.local\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        resolve_profile()
    write(tmp_path / "mlcourse.toml", '[profiles.local]\nexecutor_memory = "2g"\n')
    with pytest.raises(ConfigError, match="unknown setting 'executor_memory'"):
        resolve_profile()
    write(tmp_path / "mlcourse.toml", '[profiles.local]\ndata_dir = "/x/{nobody}"\n')
    with pytest.raises(ConfigError, match="placeholder"):
        resolve_profile()


def test_standalone_needs_a_master(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="MLCOURSE_MASTER"):
        resolve_profile("standalone")
    monkeypatch.setenv("MLCOURSE_MASTER", "spark://127.0.0.1:7077")
    p = resolve_profile("standalone", workers=3)
    assert p.conf["spark.cores.max"] == "3"
    assert p.conf["spark.executor.cores"] == "1"
    assert "spark.driver.host" not in p.conf


def test_jupyterhub_user(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "Ada.Lovelace")
    assert login_user() == "Ada.Lovelace"


def test_login_user_without_hub(monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    assert login_user()


def test_k8s_without_image_says_what_to_add(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLCOURSE_MASTER", "k8s://https://127.0.0.1:6443")
    with pytest.raises(ConfigError, match="spark.kubernetes.container.image"):
        resolve_profile("k8s")


def test_k8s_from_hub_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTERHUB_USER", "Ada_L")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    write(
        tmp_path / "mlcourse.toml",
        """
[profiles.k8s]
"spark.kubernetes.container.image" = "registry.example.org/spark-py:4"
"spark.kubernetes.namespace" = "spark-{k8s_user}"
data_dir = "hdfs://namenode:8020/user/{user}"
""",
    )
    p = resolve_profile("k8s", workers=6)
    assert p.master == "k8s://https://10.96.0.1:443"
    assert p.conf["spark.submit.deployMode"] == "client"
    assert p.conf["spark.kubernetes.namespace"] == "spark-ada-l"
    assert p.conf["spark.executor.instances"] == "6"
    assert p.conf["spark.kubernetes.executor.podNamePrefix"] == "spark-ada-l"
    assert p.data_dir == "hdfs://namenode:8020/user/Ada_L"
    assert p.conf["spark.driver.host"]  # this pod's address
    assert "spark.driver.memory" not in p.conf  # no laptop default on a cluster


def test_yarn_profile(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = resolve_profile("yarn", workers=4)
    assert p.master == "yarn"
    assert p.conf["spark.executor.instances"] == "4"
    assert p.conf["spark.submit.deployMode"] == "client"


def test_profile_prints_sources(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = str(resolve_profile("binder"))
    assert "profile 'binder'" in text and "spark.driver.memory = 768m  [built-in]" in text


def readme_example() -> str:
    readme = (Path(__file__).resolve().parents[1] / "docs/guide/profiles.md").read_text()
    block = readme.split("<!-- mlcourse.toml example: tested by tests/test_config.py -->", 1)[1]
    return block.split("```toml\n", 1)[1].split("```", 1)[0]


def test_the_guides_cluster_example_gives_exactly_these_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTERHUB_USER", "Ada_L")
    monkeypatch.setenv("POD_NAMESPACE", "jhub")
    write(tmp_path / "mlcourse.toml", readme_example())
    k8s = resolve_profile()  # default = "k8s"
    assert k8s.name == "k8s"
    assert k8s.master == "k8s://https://kubernetes.default.svc:443"
    assert k8s.data_dir == "hdfs://hdfs-namenode.hdfs.svc:8020/user/Ada_L/higgs"
    assert k8s.conf == {
        "spark.app.name": "mlcourse-Ada_L",
        "spark.submit.deployMode": "client",
        "spark.driver.bindAddress": "0.0.0.0",
        "spark.driver.host": "jupyter-ada-l.jhub.svc.cluster.local",
        "spark.driver.port": "2222",
        "spark.blockManager.port": "7777",
        "spark.kubernetes.container.image": "registry.example.org/course/spark-py:4.0.1",
        "spark.kubernetes.namespace": "spark-ada-l",
        "spark.kubernetes.authenticate.driver.serviceAccountName": "spark",
        "spark.kubernetes.executor.podNamePrefix": "spark-ada-l",
        "spark.kubernetes.executor.label.mlcourse-user": "ada-l",
        "spark.executor.instances": "4",
        "spark.executor.memory": "4g",
        "spark.executor.cores": "2",
        "spark.sql.debug.maxToStringFields": "1000",
    }
    assert resolve_profile("k8s", workers=8).conf["spark.executor.instances"] == "8"
    # another student, same file: only the per-user values change
    monkeypatch.setenv("JUPYTERHUB_USER", "bob")
    other = resolve_profile("k8s")
    changed = {k for k in k8s.conf if k8s.conf[k] != other.conf[k]}
    assert changed == {
        "spark.app.name",
        "spark.driver.host",
        "spark.kubernetes.namespace",
        "spark.kubernetes.executor.podNamePrefix",
        "spark.kubernetes.executor.label.mlcourse-user",
    }
    assert other.data_dir.endswith("/user/bob/higgs")


def test_readme_yarn_example(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTERHUB_USER", "Ada_L")
    monkeypatch.setenv("HADOOP_CONF_DIR", str(tmp_path))
    write(tmp_path / "mlcourse.toml", readme_example())
    yarn = resolve_profile("yarn", workers=6)
    assert yarn.master == "yarn" and yarn.data_dir == "hdfs:///user/Ada_L/higgs"
    assert yarn.conf == {
        "spark.app.name": "mlcourse-Ada_L",
        "spark.submit.deployMode": "client",
        "spark.yarn.queue": "course",
        "spark.executor.instances": "6",
        "spark.executor.memory": "4g",
        "spark.sql.debug.maxToStringFields": "1000",
    }


def _more_than_this_machine() -> str:
    from mlcourse.config import total_memory_bytes

    return f"{(total_memory_bytes() or 2**40) // 2**30 + 8}g"


#: Settings the JVM would take (or choke on with a Java trace); each is refused before Spark
#: starts with a message naming the setting, where it came from and a value that works.
REFUSED_SETTINGS = {
    "driver memory beyond the machine": (
        '[profiles.local]\n"spark.driver.memory" = "{more}"\n',
        {},
        r"spark.driver.memory = '\d+g' \(config file .*mlcourse.toml\) is more than this "
        r"machine has \(.* GiB, a container's limit included\).*Use at most \d+g, e.g. \d+g",
    ),
    "driver memory 0": (
        '[profiles.local]\n"spark.driver.memory" = "0g"\n',
        {},
        r"spark.driver.memory = '0g' \(config file .*\) is too small.*Use 512m or more",
    ),
    "executor memory 100m": (
        '[profiles.standalone]\nmaster = "spark://127.0.0.1:7077"\n'
        '"spark.executor.memory" = "100m"\n',
        {"MLCOURSE_PROFILE": "standalone"},
        r"spark.executor.memory = '100m' \(config file .*\) is too small",
    ),
    "executor cores 0": (
        '[profiles.standalone]\nmaster = "spark://127.0.0.1:7077"\n"spark.executor.cores" = "0"\n',
        {"MLCOURSE_PROFILE": "standalone"},
        r"spark.executor.cores = '0' \(config file .*\) must be a whole number of at least 1",
    ),
    "local[two]": (
        "",
        {"MLCOURSE_MASTER": "local[two]"},
        r"master 'local\[two\]' \(env MLCOURSE_MASTER\) is not a local master.*local\[2\]",
    ),
    "local[0]": ("", {"MLCOURSE_MASTER": "local[0]"}, r"asks for no cores: use local\[1\]"),
    "empty data_dir": (
        '[profiles.local]\ndata_dir = ""\n',
        {},
        r"data_dir is empty \(config file .*\): name the folder",
    ),
    "data_dir a file": (
        "",
        {"MLCOURSE_DATA_DIR": "{tmp}/afile"},
        r"afile \(env MLCOURSE_DATA_DIR\) is a file, not a folder",
    ),
    "data_dir a symlink loop": (
        "",
        {"MLCOURSE_DATA_DIR": "{tmp}/loop"},
        r"loop \(env MLCOURSE_DATA_DIR\) is a symbolic link loop",
    ),
    "data_dir below a file": (
        "",
        {"MLCOURSE_DATA_DIR": "{tmp}/afile/data"},
        r"a part of its path is a file",
    ),
}


@pytest.mark.parametrize("case", REFUSED_SETTINGS, ids=str)
def test_settings_are_checked_before_spark_starts(tmp_path, monkeypatch, case):
    text, env, message = REFUSED_SETTINGS[case]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("mine\n")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    write(tmp_path / "mlcourse.toml", text.format(more=_more_than_this_machine()))
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(tmp=tmp_path))
    with pytest.raises(ConfigError, match=message):
        resolve_profile()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("\ufeffdefault = 'binder'\n".encode(), None),  # a BOM, as Notepad writes it
        (
            "# Andr\u00e9's settings\ndefault = 'binder'\n".encode("cp1252"),
            r"mlcourse.toml, line 1, column 7: byte 0xe9 is not UTF-8.*Save it as UTF-8",
        ),
    ],
    ids=["BOM", "cp1252"],
)
def test_a_toml_from_a_windows_editor(tmp_path, monkeypatch, content, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlcourse.toml").write_bytes(content)
    if message is None:
        assert resolve_profile().name == "binder"
    else:
        with pytest.raises(ConfigError, match=message):
            resolve_profile()


# --------------------------------------------------------------------------- container limits


def fake_proc(tmp_path: Path, version: int, group: str = "/hub/alice") -> Path:
    """A /proc/self whose cgroup is ``group`` of a v1 or v2 hierarchy mounted in tmp_path
    (the formats of /proc/self/cgroup and /proc/self/mountinfo as Linux writes them)."""
    proc = tmp_path / "proc"
    proc.mkdir()
    if version == 2:
        mount = tmp_path / "unified"
        (mount / group.lstrip("/")).mkdir(parents=True)
        (mount / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
        (proc / "cgroup").write_text(f"0::{group}\n")
        (proc / "mountinfo").write_text(
            f"30 23 0:26 / {mount} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        )
    else:
        lines, mounts = [], []
        for i, controller in enumerate(("cpu,cpuacct", "memory")):
            mount = tmp_path / controller
            (mount / group.lstrip("/")).mkdir(parents=True)
            lines.append(f"{i + 3}:{controller}:{group}")
            mounts.append(f"{40 + i} 31 0:{30 + i} / {mount} rw - cgroup cgroup rw,{controller}")
        (proc / "cgroup").write_text("\n".join([*lines, "0::/"]) + "\n")
        (proc / "mountinfo").write_text("\n".join(mounts) + "\n")
    return proc


def limit_files(tmp_path: Path, version: int, where: str, cpu: str, memory: str) -> None:
    """Write a CPU quota and a memory limit into the group ``where`` (relative)."""
    if version == 2:
        folder = tmp_path / "unified" / where
        (folder / "cpu.max").write_text(cpu + "\n")
        (folder / "memory.max").write_text(memory + "\n")
        return
    quota, period = cpu.split()
    cpu_folder, memory_folder = tmp_path / "cpu,cpuacct" / where, tmp_path / "memory" / where
    (cpu_folder / "cpu.cfs_quota_us").write_text(("-1" if quota == "max" else quota) + "\n")
    (cpu_folder / "cpu.cfs_period_us").write_text(period + "\n")
    (memory_folder / "memory.limit_in_bytes").write_text(
        (str(2**63 - 4096) if memory == "max" else memory) + "\n"
    )


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize(
    ("cpu", "want"),
    [
        ("150000 100000", 1),  # 1.5 CPUs: one core's worth, never less
        ("200000 100000", 2),
        ("100000 100000", 1),
        ("max 100000", None),  # no quota: the affinity
    ],
)
def test_cpu_count_respects_the_quota_of_its_own_cgroup(monkeypatch, tmp_path, version, cpu, want):
    """The limits sit on the process's own group (a hub's spawner, a systemd slice), not at
    the hierarchy's root, which has none: as the JVM finds them."""
    import os

    from mlcourse.config import machine as config

    monkeypatch.setattr(config, "_PROC_SELF", fake_proc(tmp_path, version))
    limit_files(tmp_path, version, "hub/alice", cpu, "max")
    cores = len(os.sched_getaffinity(0))
    assert config.cpu_count() == (cores if want is None else min(cores, want))


@pytest.mark.parametrize("version", [1, 2])
def test_a_parents_limit_holds_for_its_children(monkeypatch, tmp_path, version):
    from mlcourse.config import machine as config

    monkeypatch.setattr(config, "_PROC_SELF", fake_proc(tmp_path, version))
    limit_files(tmp_path, version, "hub/alice", "max 100000", "max")
    limit_files(tmp_path, version, "hub", "100000 100000", str(2 * 2**30))  # the class's slice
    assert config.cpu_count() == 1
    assert config.total_memory_bytes() == 2 * 2**30


@pytest.mark.parametrize("version", [1, 2])
def test_available_memory_is_the_cgroups_limit_less_its_use(monkeypatch, tmp_path, version):
    from mlcourse.config import machine as config

    monkeypatch.setattr(config, "_PROC_SELF", fake_proc(tmp_path, version))
    limit_files(tmp_path, version, "hub/alice", "max 100000", str(2 * 2**30))
    used = "memory.current" if version == 2 else "memory.usage_in_bytes"
    folder = tmp_path / ("unified" if version == 2 else "memory") / "hub/alice"
    (folder / used).write_text(f"{2**30 + 2**29}\n")
    assert config.total_memory_bytes() == 2 * 2**30
    assert config.available_memory_bytes() == 2**29  # below the machine's MemAvailable here
    limit_files(tmp_path, version, "hub/alice", "max 100000", "max")  # no limit: the machine's
    meminfo = {
        line.split(":")[0]: int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
    }
    assert abs(config.available_memory_bytes() - meminfo["MemAvailable"]) < 2**28


def test_no_cgroup_file_system_means_no_limit(monkeypatch, tmp_path):
    from mlcourse.config import machine as config

    monkeypatch.setattr(config, "_PROC_SELF", tmp_path / "nowhere")
    assert config._cgroup_memory() is None and config._cgroup_cpu_quota() is None
