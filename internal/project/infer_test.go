package project

import (
	"reflect"
	"strings"
	"testing"
)

func deps(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

func TestInferCommand(t *testing.T) {
	for _, tc := range []struct {
		dir    string
		deps   map[string]bool
		port   int
		want   []string
		reason []string // substrings
	}{
		{"testdata/django", deps("django", "gunicorn"), 0,
			[]string{"gunicorn", "mysite.wsgi:application", "--bind", "0.0.0.0:8000"},
			[]string{"Django", "manage.py", `"mysite.wsgi.application"`, "mysite/settings.py", "gunicorn"}},
		{"testdata/django-nested", deps("django", "gunicorn"), 8080,
			[]string{"gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8080", "--chdir", "/app/backend"},
			[]string{"backend/manage.py", "backend/config/wsgi.py defining application"}},
		{"testdata/fastapi", deps("fastapi", "uvicorn"), 0,
			[]string{"uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"},
			[]string{"FastAPI", "app.main:app", "app/main.py", "uvicorn"}},
		{"testdata/src", deps("fastapi", "uvicorn"), 9000,
			[]string{"uvicorn", "src_app.main:app", "--host", "0.0.0.0", "--port", "9000"},
			[]string{"src/src_app/main.py"}},
		{"testdata/flask", deps("flask", "gunicorn"), 0,
			[]string{"gunicorn", "flaskr:create_app()", "--bind", "0.0.0.0:8000"},
			[]string{"Flask", "factory", "flaskr/__init__.py"}},
		{"testdata/flat", deps("flask", "gunicorn"), 5000,
			[]string{"gunicorn", "flat_app.web:application", "--bind", "0.0.0.0:5000"},
			[]string{"flat_app/web.py"}},
		{"testdata/script-only", deps(), 0,
			[]string{"worker"},
			[]string{"[project.scripts]", `worker = "worker.main:run"`}},
		{"testdata/full-config", deps(), 0,
			[]string{"gunicorn", "mysite.wsgi", "--bind", "0.0.0.0:8000"},
			[]string{"[tool.kiln]"}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			cmd, reason, err := InferCommand(load(t, tc.dir), tc.deps, tc.port)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cmd, tc.want) {
				t.Errorf("command = %q, want %q", cmd, tc.want)
			}
			for _, w := range tc.reason {
				if !strings.Contains(reason, w) {
					t.Errorf("reason %q does not contain %q", reason, w)
				}
			}
		})
	}
}

func TestInferCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		dir  string
		deps map[string]bool
		want []string
	}{
		{"testdata/django", deps("django"), []string{"Django project", "gunicorn is not a dependency", "uv add gunicorn"}},
		{"testdata/fastapi", deps("fastapi", "gunicorn"), []string{"FastAPI app app.main:app", "uvicorn is not a dependency"}},
		{"testdata/flask", deps("flask"), []string{"Flask app", "gunicorn is not a dependency"}},
		{"testdata/nothing", deps(), []string{
			"nothing/pyproject.toml", "no command could be inferred", "Django", "FastAPI", "Flask",
			"several [project.scripts] entries (a, b)", "set command",
		}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			cmd, _, err := InferCommand(load(t, tc.dir), tc.deps, 0)
			if err == nil {
				t.Fatalf("InferCommand = %q", cmd)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestInferCommandCases(t *testing.T) {
	const pyproject = "[project]\nname = \"demo\"\n"
	all := deps("gunicorn", "uvicorn")
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // command, or nil for an error
		err   string
	}{{
		name: "ambiguous",
		files: map[string]string{
			"one/main.py": "app = FastAPI()\n", "two/main.py": "app = FastAPI()\n",
		},
		err: "several FastAPI apps",
	}, {
		name: "module-level beats factory, app beats other names",
		files: map[string]string{
			"svc/main.py":    "def make():\n    app = FastAPI()\n    return app\napi = FastAPI()\napp = FastAPI()\n",
			"svc/factory.py": "def create_app():\n    app = FastAPI()\n",
		},
		want: []string{"uvicorn", "svc.main:app", "--host", "0.0.0.0", "--port", "8000"},
	}, {
		name:  "a module named main beats another at the same depth",
		files: map[string]string{"svc/main.py": "app = FastAPI()\n", "svc/other.py": "app = FastAPI()\n"},
		want:  []string{"uvicorn", "svc.main:app", "--host", "0.0.0.0", "--port", "8000"},
	}, {
		name:  "shallower beats deeper",
		files: map[string]string{"svc/main.py": "app = FastAPI()\n", "svc/v2/main.py": "app = FastAPI()\n"},
		want:  []string{"uvicorn", "svc.main:app", "--host", "0.0.0.0", "--port", "8000"},
	}, {
		name:  "fastapi factory",
		files: map[string]string{"svc.py": "async def build():\n\tapplication = FastAPI()\n\treturn application\n"},
		want:  []string{"uvicorn", "svc:build", "--host", "0.0.0.0", "--port", "8000", "--factory"},
	}, {
		name:  "method in class is not a factory",
		files: map[string]string{"svc.py": "class X:\n    def make(self):\n        app = Flask(__name__)\n"},
		err:   "no command could be inferred",
	}, {
		name:  "fastapi wins over flask",
		files: map[string]string{"a.py": "app = Flask(__name__)\n", "b.py": "app = FastAPI()\n"},
		want:  []string{"uvicorn", "b:app", "--host", "0.0.0.0", "--port", "8000"},
	}, {
		name:  "not importable",
		files: map[string]string{"my-app/main.py": "app = Flask(__name__)\n"},
		err:   "no command could be inferred",
	}, {
		name:  "excluded file is not scanned",
		files: map[string]string{".dockerignore": "old.py\n", "old.py": "app = Flask(__name__)\n", "new.py": "app = FastAPI()\n"},
		want:  []string{"uvicorn", "new:app", "--host", "0.0.0.0", "--port", "8000"},
	}, {
		name:  "commented and docstring-indented lines",
		files: map[string]string{"a.py": "# app = Flask(__name__)\n\"\"\"\n    app = Flask(__name__)\n\"\"\"\n"},
		err:   "no command could be inferred",
	}, {
		name:  "manage.py without settings",
		files: map[string]string{"manage.py": "", "site/urls.py": ""},
		err:   "found manage.py but no WSGI_APPLICATION",
	}, {
		name: "django settings package",
		files: map[string]string{
			"manage.py": "", "proj/settings/__init__.py": "", "proj/settings/base.py": "WSGI_APPLICATION = 'proj.wsgi.application'\n",
			"proj/settings/prod.py": "WSGI_APPLICATION = 'proj.wsgi.application'\n",
		},
		want: []string{"gunicorn", "proj.wsgi:application", "--bind", "0.0.0.0:8000"},
	}, {
		name: "conflicting WSGI_APPLICATION",
		files: map[string]string{
			"manage.py": "", "a/settings.py": "WSGI_APPLICATION = 'a.wsgi.application'\n",
			"b/settings.py": "WSGI_APPLICATION = 'b.wsgi.application'\n",
		},
		err: "several WSGI_APPLICATION settings",
	}, {
		name: "django in src layout needs no chdir",
		files: map[string]string{
			"src/manage.py": "", "src/site1/__init__.py": "", "src/site1/wsgi.py": "application = get_wsgi_application()\n",
		},
		want: []string{"gunicorn", "site1.wsgi:application", "--bind", "0.0.0.0:8000"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tc.files["pyproject.toml"] = pyproject
			cmd, _, err := InferCommand(load(t, writeProject(t, tc.files)), all, 0)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("InferCommand = %q, %v; want error containing %q", cmd, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cmd, tc.want) {
				t.Errorf("command = %q, want %q", cmd, tc.want)
			}
		})
	}
}
