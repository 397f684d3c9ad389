package fakes

import (
	"net/http"
	"slices"
)

// AzureOptions configure an emulated Azure OpenAI resource.
type AzureOptions struct {
	Name string
	// APIKey is required in the api-key header (unless Token authorizes).
	APIKey string
	// Token is an Entra ID bearer token the resource accepts; empty accepts none.
	Token string
	// Deployments are the deployment names that exist; empty accepts any.
	Deployments []string
	// APIVersions accepted on deployment paths; empty accepts any non-empty one.
	APIVersions []string
	// ContextWindow makes longer prompts fail with context_length_exceeded.
	ContextWindow int
}

// Azure emulates an Azure OpenAI resource: deployment paths with api-version, the
// v1 path, api-key or Entra ID auth, Azure's error bodies, and the leading
// prompt_filter_results chunk of its streams.
type Azure struct {
	server
	opts AzureOptions
}

// NewAzure starts an emulated Azure OpenAI resource on loopback.
func NewAzure(opts AzureOptions) *Azure {
	if opts.Name == "" {
		opts.Name = "azure"
	}
	a := &Azure{opts: opts}
	a.server = startServer(opts.Name, func(b *Backend) http.Handler {
		h := &chatHandler{b: b, opts: OpenAIOptions{Name: opts.Name, ContextWindow: opts.ContextWindow, Models: opts.Deployments},
			style: styleAzure, promptFilter: true}
		mux := http.NewServeMux()
		mux.HandleFunc("POST /openai/deployments/{deployment}/chat/completions", func(w http.ResponseWriter, r *http.Request) {
			if dep, ok := a.admitDeployment(w, r, b); ok {
				h.chat(w, r, dep)
			}
		})
		mux.HandleFunc("POST /openai/deployments/{deployment}/embeddings", func(w http.ResponseWriter, r *http.Request) {
			if dep, ok := a.admitDeployment(w, r, b); ok {
				h.embeddings(w, r, dep)
			}
		})
		// The v1 API names the deployment in the body's "model" and takes no api-version.
		mux.HandleFunc("POST /openai/v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
			if a.authorized(w, r, b) {
				h.chat(w, r, "")
			}
		})
		mux.HandleFunc("POST /openai/v1/embeddings", func(w http.ResponseWriter, r *http.Request) {
			if a.authorized(w, r, b) {
				h.embeddings(w, r, "")
			}
		})
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			writeAzureError(w, http.StatusNotFound, "404", "Resource not found")
		})
		return mux
	})
	return a
}

// Endpoint is the resource endpoint, https://RESOURCE.openai.azure.com in Azure.
func (a *Azure) Endpoint() string { return a.URL() }

func (a *Azure) authorized(w http.ResponseWriter, r *http.Request, b *Backend) bool {
	key := r.Header.Get("Api-Key")
	tok := bearer(r)
	if (a.opts.APIKey == "" && a.opts.Token == "") ||
		(a.opts.APIKey != "" && key == a.opts.APIKey) ||
		(a.opts.Token != "" && tok == a.opts.Token) {
		return true
	}
	b.admit(r, nil)
	writeAzureError(w, http.StatusUnauthorized, "401",
		"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.")
	return false
}

func (a *Azure) admitDeployment(w http.ResponseWriter, r *http.Request, b *Backend) (string, bool) {
	v := r.URL.Query().Get("api-version")
	if v == "" || (len(a.opts.APIVersions) > 0 && !slices.Contains(a.opts.APIVersions, v)) {
		b.admit(r, nil)
		writeAzureError(w, http.StatusNotFound, "404", "Resource not found")
		return "", false
	}
	if !a.authorized(w, r, b) {
		return "", false
	}
	dep := r.PathValue("deployment")
	if len(a.opts.Deployments) > 0 && !slices.Contains(a.opts.Deployments, dep) {
		b.admit(r, nil)
		writeAzureError(w, http.StatusNotFound, "DeploymentNotFound",
			"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.")
		return "", false
	}
	return dep, true
}
