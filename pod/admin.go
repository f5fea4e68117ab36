package pod

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/adminapi"
	"podserver/apierr"
	"podserver/jsoncheck"
	"podserver/ldp"
	"podserver/podurl"
)

// adminPrefix is the operator API's path (package adminapi documents its
// routes).
const adminPrefix = "/admin/"

// routeAdmin labels operator API requests in logs and metrics.
const routeAdmin = "admin"

// deleteWait bounds how long DELETE /admin/pods/{name} waits for the pod's
// data to be removed before it answers 202 (the removal goes on).
const deleteWait = 20 * time.Second

// Client-facing errors of the operator API.
var (
	errAdminKey = apierr.New(http.StatusUnauthorized, "the operator API needs the server's operator key (Authorization: Bearer KEY)").
			With("WWW-Authenticate", `Bearer realm="podserver operator"`)
	errAdminRoute   = apierr.New(http.StatusNotFound, "not found: the operator API has /admin/pods, /admin/pods/{name}, /admin/pods/{name}/disable, /admin/pods/{name}/enable and /admin/register")
	errAdminBody    = apierr.New(http.StatusBadRequest, `the body must be JSON {"name": "..."}`)
	errRegistration = apierr.New(http.StatusForbidden, "open registration is off on this server: ask its operator for a pod")
)

// admin is the operator API: the operator key, pod creation, listing,
// disabling and deletion, and open registration.
type admin struct {
	s *Server
	// firstKey is the operator key generated at this start, until
	// FirstOperatorKey hands it out.
	firstKey chan string
	purges   *purges
	limits   *registrationLimits
}

// newAdmin stores Options.OperatorKey when it is set and resumes the
// removal of deleted pods' data.
func newAdmin(s *Server) (*admin, error) {
	a := &admin{s: s, firstKey: make(chan string, 1), purges: newPurges(), limits: newRegistrationLimits()}
	if s.opts.OperatorKey != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := s.setupOperatorKey(ctx, s.opts.OperatorKey); err != nil {
			return nil, err
		}
	}
	if err := a.purges.resume(s); err != nil {
		return nil, err
	}
	return a, nil
}

// start makes the operator key when the store holds none, for
// FirstOperatorKey. It runs when the server starts serving, not in New:
// commands that open the store without serving must not make a key that
// nobody shows.
func (a *admin) start() error {
	if a.s.opts.OperatorKey != "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	generated, err := a.s.setupOperatorKey(ctx, "")
	if err != nil {
		return err
	}
	if generated != "" {
		a.firstKey <- generated
	}
	return nil
}

func (a *admin) close() { a.purges.close() }

// FirstOperatorKey returns the operator key generated when this server
// started (Start) over a store that had none (and Options.OperatorKey was
// empty), once: it is stored only as a hash, so the caller must show it now.
// Otherwise, and on every later call, it returns "".
func (s *Server) FirstOperatorKey() string {
	select {
	case k := <-s.adm.firstKey:
		return k
	default:
		return ""
	}
}

// top serves the operator API; it reports false for other paths.
func (a *admin) top(c *gin.Context) (bool, error) {
	p := c.Request.URL.Path
	rest, ok := strings.CutPrefix(p, adminPrefix)
	if !ok {
		if p == strings.TrimSuffix(adminPrefix, "/") {
			return true, errAdminRoute
		}
		return false, nil
	}
	c.Set("route", routeAdmin)
	c.Header("Cache-Control", "no-store")
	if rest == "register" {
		return true, a.register(c)
	}
	if err := a.s.authorizeOperator(c.Request.Context(), c.Request); err != nil {
		return true, err
	}
	m := c.Request.Method
	name, op, _ := strings.Cut(strings.TrimPrefix(rest, "pods/"), "/")
	switch {
	case rest == "pods" && (m == http.MethodGet || m == http.MethodHead):
		return true, a.list(c)
	case rest == "pods" && m == http.MethodPost:
		return true, a.create(c)
	case rest == "pods":
		return true, methodNotAllowed("GET, POST")
	case !strings.HasPrefix(rest, "pods/") || name == "":
		return true, errAdminRoute
	case op == "" && (m == http.MethodGet || m == http.MethodHead):
		return true, a.get(c, name)
	case op == "" && m == http.MethodDelete:
		return true, a.delete(c, name)
	case op == "":
		return true, methodNotAllowed("GET, DELETE")
	case (op == "disable" || op == "enable") && m == http.MethodPost:
		return true, a.setState(c, name, op == "disable")
	case op == "disable" || op == "enable":
		return true, methodNotAllowed("POST")
	}
	return true, errAdminRoute
}

func methodNotAllowed(allow string) error {
	return apierr.Newf(http.StatusMethodNotAllowed, "method not allowed: use %s", allow).With("Allow", allow)
}

// view is p as the API shows it.
func (a *admin) view(p ldp.PodInfo) adminapi.Pod {
	return adminapi.Pod{Name: p.Name, Root: a.s.PodRoot(p.Name), WebID: a.s.WebID(p.Name), Created: p.Created, State: p.State}
}

func (a *admin) list(c *gin.Context) error {
	pods, err := a.s.ListPods(c.Request.Context())
	if err != nil {
		return err
	}
	out := adminapi.PodList{Pods: make([]adminapi.Pod, 0, len(pods))}
	for _, p := range pods {
		out.Pods = append(out.Pods, a.view(p))
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (a *admin) get(c *gin.Context, name string) error {
	p, err := a.s.Pod(c.Request.Context(), name)
	if err != nil {
		return podError(name, err)
	}
	c.JSON(http.StatusOK, a.view(p))
	return nil
}

// readName reads a CreateRequest body.
func readName(c *gin.Context, max int64) (string, error) {
	b, err := readBody(c, max)
	if err != nil {
		return "", err
	}
	if err := jsoncheck.Check(b); err != nil {
		return "", errAdminBody
	}
	var req adminapi.CreateRequest
	if err := json.Unmarshal(b, &req); err != nil || req.Name == "" {
		return "", errAdminBody
	}
	return req.Name, nil
}

// readBody reads a request body of at most max bytes.
func readBody(c *gin.Context, max int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, max))
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return nil, apierr.New(http.StatusRequestEntityTooLarge, "the body is too large")
	}
	return b, err
}

func (a *admin) create(c *gin.Context) error {
	name, err := readName(c, 4<<10)
	if err != nil {
		return err
	}
	return a.createPod(c, name)
}

// createPod creates pod name and answers 201 with its owner key.
func (a *admin) createPod(c *gin.Context, name string) error {
	ctx := c.Request.Context()
	secret, err := a.s.CreatePod(ctx, name)
	if err != nil {
		return podError(name, err)
	}
	p, err := a.s.Pod(ctx, name)
	if err != nil {
		return err
	}
	v := a.view(p)
	v.OwnerKey = secret
	a.s.log.InfoContext(ctx, "pod created", "pod", name, "route", c.GetString("route"))
	c.Header("Location", adminPrefix+"pods/"+name)
	c.JSON(http.StatusCreated, v)
	return nil
}

func (a *admin) setState(c *gin.Context, name string, disabled bool) error {
	p, err := a.s.DisablePod(c.Request.Context(), name, disabled)
	if err != nil {
		return podError(name, err)
	}
	a.s.log.InfoContext(c.Request.Context(), "pod state changed", "pod", name, "state", p.State)
	c.JSON(http.StatusOK, a.view(p))
	return nil
}

func (a *admin) delete(c *gin.Context, name string) error {
	ctx, cancel := context.WithTimeout(c.Request.Context(), deleteWait)
	defer cancel()
	err := a.s.DeletePod(ctx, name)
	switch {
	case err == nil:
		c.JSON(http.StatusOK, adminapi.Pod{Name: name, State: adminapi.StateDeleted})
		return nil
	case errors.Is(err, context.DeadlineExceeded) && c.Request.Context().Err() == nil:
		c.JSON(http.StatusAccepted, adminapi.Pod{Name: name, Root: a.s.PodRoot(name), WebID: a.s.WebID(name), State: adminapi.StateDeleting})
		return nil
	}
	return podError(name, err)
}

// podError maps the errors of the pod operations to API errors.
func podError(name string, err error) error {
	switch {
	case errors.Is(err, ErrInvalidPodName) && podurl.Reserved(name):
		return apierr.Newf(http.StatusBadRequest, "%q is reserved for the server's own paths: choose another pod name", name)
	case errors.Is(err, ErrInvalidPodName):
		return apierr.New(http.StatusBadRequest, ErrInvalidPodName.Error())
	case errors.Is(err, ErrPodExists):
		return apierr.Newf(http.StatusConflict, "pod %q already exists (or is being deleted): choose another name", name)
	case errors.Is(err, ErrNoPod):
		return apierr.Newf(http.StatusNotFound, msgNoPod, name)
	case errors.Is(err, ErrPodDeleting):
		return apierr.Newf(http.StatusConflict, "pod %q is being deleted", name)
	}
	return err
}

// checkAgentPod refuses a principal whose own pod on this server, other
// than target (checked already), is disabled or being deleted: its keys
// and its logins act for nobody while the pod is off, on every pod.
func (s *Server) checkAgentPod(ctx context.Context, pr ldp.Principal, target string) error {
	own := pr.Pod
	if own == "" && pr.Agent != "" {
		own, _ = s.urls.PodOfWebID(pr.Agent)
	}
	if own == "" || own == target {
		return nil
	}
	p, ok, err := s.podRecord(ctx, own)
	switch {
	case err != nil:
		return err
	case !ok || p.State == ldp.PodDeleting || p.State == ldp.PodDisabled:
		return apierr.Newf(http.StatusForbidden, msgAgentPodOff, own)
	}
	return nil
}

// msgAgentPodOff takes the pod name.
const msgAgentPodOff = "the credentials belong to pod %q, which is disabled or deleted: they act for nobody until the server's operator enables it"

// checkPod answers whether requests to pod name are served: nil for an
// active pod, 404 for a missing one or one being deleted, 403 for a
// disabled one.
func (s *Server) checkPod(ctx context.Context, name string) error {
	p, ok, err := s.podRecord(ctx, name)
	switch {
	case err != nil:
		return err
	case !ok || p.State == ldp.PodDeleting:
		return apierr.Newf(http.StatusNotFound, msgNoPod, name)
	case p.State == ldp.PodDisabled:
		return apierr.Newf(http.StatusForbidden, "pod %q is disabled by the server's operator", name)
	}
	return nil
}
