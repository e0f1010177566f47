"""A whole public-style example (proxy, app, migration job, database, cache, a debug profile) -> the full model."""

import os

from ansible_collections.dockhand.runtime.plugins.action.compose import ControllerReader
from ansible_collections.dockhand.runtime.plugins.plugin_utils.compose.project import Request, build_project

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "webapp")
LOGGING = {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}}
DB_URL = "postgresql://app:s3cr3t p@ss@db:5432/app"


def net(aliases=()):
    return {"aliases": list(aliases), "ipv4_address": None, "ipv6_address": None}


def expected_model():
    return {
        "name": "webapp",
        "working_dir": EXAMPLE,
        "config_files": [os.path.join(EXAMPLE, "compose.yaml")],
        "services": {
            "proxy": {
                "image": "nginx:1.27-alpine",
                "ports": [{"target": 80, "published": "8080", "host_ip": None, "protocol": "tcp"},
                          {"target": 443, "published": "8443", "host_ip": None, "protocol": "tcp"}],
                "volumes": [{"type": "bind", "source": os.path.join(EXAMPLE, "proxy/nginx.conf"),
                             "target": "/etc/nginx/conf.d/default.conf", "read_only": True,
                             "bind": {"create_host_path": True, "propagation": "rprivate"}}],
                "depends_on": {"app": {"condition": "service_healthy", "restart": True, "required": True}},
                "logging": LOGGING,
                "restart": "always",
                "environment": {},
                "networks": {"frontnet": net()},
            },
            "app": {
                "image": "registry.example/webapp/app:2.3.1",
                "command": ["gunicorn", "--bind", "0.0.0.0:8000", "app:create_app()"],
                "expose": ["8000"],
                "healthcheck": {"test": ["CMD", "wget", "-qO-", "http://localhost:8000/health"], "interval": "10s",
                                "timeout": "3s", "retries": 5, "start_period": "20s"},
                "depends_on": {
                    "db": {"condition": "service_healthy", "restart": False, "required": True},
                    "cache": {"condition": "service_started", "restart": False, "required": True},
                    "migrate": {"condition": "service_completed_successfully", "restart": False, "required": True}},
                "logging": LOGGING,
                "restart": "unless-stopped",
                "environment": {"SECRET_KEY": "change-me", "WORKERS": "4", "DEBUG": "false",
                                "DATABASE_URL": DB_URL, "REDIS_URL": "redis://cache:6379/0"},
                "networks": {"frontnet": net(["web"]), "backnet": net()},
                "deploy": {"resources": {"limits": {"memory": "512M", "cpus": "1.5"}}},
            },
            "migrate": {
                "image": "registry.example/webapp/app:2.3.1",
                "command": ["flask", "db", "upgrade"],
                "depends_on": {"db": {"condition": "service_healthy", "restart": False, "required": True}},
                "environment": {"DATABASE_URL": DB_URL},
                "networks": {"backnet": net()},
            },
            "db": {
                "image": "postgres:16-alpine",
                "volumes": [{"type": "volume", "source": "db-data", "target": "/var/lib/postgresql/data",
                             "read_only": False, "volume": {"nocopy": False}}],
                "healthcheck": {"test": ["CMD-SHELL", "pg_isready -U app -d app"], "interval": "5s", "retries": 10},
                "shm_size": "128mb",
                "environment": {"POSTGRES_USER": "app", "POSTGRES_DB": "app", "POSTGRES_PASSWORD": "s3cr3t p@ss"},
                "networks": {"backnet": net()},
            },
            "cache": {
                "image": "redis:7-alpine",
                "command": ["redis-server", "--save", "", "--appendonly", "no"],
                "healthcheck": {"test": ["CMD", "redis-cli", "ping"], "interval": "5s"},
                "tmpfs": ["/data"],
                "ulimits": {"nofile": {"soft": 10240, "hard": 10240}},
                "environment": {},
                "networks": {"backnet": net()},
            },
        },
        "networks": {"frontnet": {"name": "webapp_frontnet", "external": False},
                     "backnet": {"name": "webapp_backnet", "external": False, "internal": True}},
        "volumes": {"db-data": {"name": "webapp_db-data", "external": False}},
        "mask": ["change-me", "s3cr3t p@ss"],  # the secret-named values that reached the model
    }


def test_the_example_gives_the_full_model():
    model, warnings = build_project(Request(project_src=EXAMPLE), ControllerReader())
    assert model == expected_model()
    assert warnings == []


def test_the_debug_profile_adds_adminer():
    model, _warnings = build_project(Request(project_src=EXAMPLE, profiles=["debug"]), ControllerReader())
    assert model["services"]["adminer"] == {
        "image": "adminer:4",
        "ports": [{"target": 8080, "published": "8081", "host_ip": "127.0.0.1", "protocol": "tcp"}],
        "depends_on": {"db": {"condition": "service_started", "restart": False, "required": True}},
        "environment": {},
        "networks": {"backnet": net()},
    }


def test_the_task_environment_overrides_the_dotenv():
    model, _warnings = build_project(Request(project_src=EXAMPLE, environment={"APP_VERSION": "2.4.0"}),
                                     ControllerReader())
    assert model["services"]["app"]["image"] == "registry.example/webapp/app:2.4.0"
