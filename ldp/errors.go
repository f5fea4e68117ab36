package ldp

// Client-facing messages of the LDP handler, one table (the common 401,
// 403 and 404 are apierr's). Messages with verbs take the arguments their
// comments name.
const (
	// msgLimit takes MaxPageSize.
	msgLimit = "limit must be a whole number from 1 to %d"
	msgFrom  = "from must be a cursor taken from a previous page's next link"
	// msgContainerTypes takes the RDF media types.
	msgContainerTypes = "no acceptable representation: containers are available as %s"
	// msgResourceTypes takes the RDF media types.
	msgResourceTypes = "no acceptable representation: this resource is available as %s"
	// msgMethod takes the methods allowed on the path.
	msgMethod        = "method not allowed here; allowed: %s"
	msgIfMatch       = "If-Match does not match the current ETag"
	msgPrecondition  = "precondition failed: the resource's ETag does not match If-Match / If-None-Match"
	msgNotEmpty      = "container is not empty: delete its members first"
	msgContainerBody = "a new container takes no body"
	// msgContainerSlash takes the URL the request named.
	msgContainerSlash = "a container's URL ends with \"/\": PUT %s/ to create a container, or send no container-type Link header (rel=\"type\" ldp:BasicContainer or ldp:Container)"
	// Messages for a PUT of a container with a body.
	msgContainerNotRDF     = "a container's representation is managed by the server: PUT to a container takes no body, or an RDF body without statements"
	msgContainment         = "a container's containment triples are managed by the server: PUT cannot change them"
	msgContainerStatements = "a container stores no statements of its own: PUT to a container takes an RDF body without statements"
	msgCreateRace          = "the containers above this resource changed while it was being created: retry"
	// msgTooLarge takes the limit in bytes.
	msgTooLarge    = "request body is larger than the limit of %d bytes"
	msgUnreadable  = "could not read the request body"
	msgContentType = "Content-Type header is required when sending a body"
	// msgBadContentType takes the header's value.
	msgBadContentType = "invalid Content-Type %q"
	// msgACLType takes the RDF media types a write may use.
	msgACLType = "an ACL document must be RDF (%s)"
	// msgInvalidBody is followed by the media type and the parser's error.
	msgInvalidBody = "invalid %s body: %s"
	// msgContextBusy is followed by the reader's error.
	msgContextBusy = "a remote JSON-LD context the body names cannot be fetched right now (too many fetches in progress); retry later: "
	// msgInvalidACL is followed by what is wrong.
	msgInvalidACL = "invalid ACL document: "
	// msgPatchTypes takes the patch media types.
	msgPatchTypes = "PATCH takes %s"
	// msgInvalidPatch is followed by the parser's error.
	msgInvalidPatch = "invalid patch: "
	// msgPatchedInvalid is followed by what the validation refused.
	msgPatchedInvalid = "the patched document is not valid: "
	// msgPatchNotRDF takes the resource's media type.
	msgPatchNotRDF = "cannot PATCH a %s resource: only RDF resources can be patched"
	// msgPatchRace takes the number of attempts.
	msgPatchRace = "the resource changed while the patch was applied, %d times: retry"
	// msgPatchedTooLarge takes the patched document's size and the limit.
	msgPatchedTooLarge = "the patched document would be %d bytes, larger than the limit of %d bytes on a request body"
	// msgPatchedACL is followed by what is wrong.
	msgPatchedACL = "the patched ACL document is not valid: "
	// Messages for a stored RDF body that no longer reads: it was accepted
	// before today's limits (nesting, UTF-8 in JSON-LD) or written around
	// them. It is refused for that resource alone; the stored bytes are still
	// served as they are. msgStoredUnreadable takes the asked and stored
	// media types, the cause and the stored type again;
	// msgStoredUnpatchable the stored type and the cause.
	msgStoredUnreadable  = "this resource cannot be converted to %s: its stored %s body does not read within the server's limits (%v); it is available as %s"
	msgStoredUnpatchable = "this resource cannot be patched: its stored %s body does not read within the server's limits (%v); replace it with PUT"
)
