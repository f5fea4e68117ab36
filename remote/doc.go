// Package remote carries event copies between servers (DESIGN section 2):
//
//   - sending: Remote.DeliverLDN is the delivery queue's handler for
//     deliver.KindLDN records. It finds the inbox a WebID profile names
//     and POSTs the stored event to it, signed with the sending pod's
//     Ed25519 key (HTTP Message Signatures, RFC 9421);
//   - receiving: Remote.Receive serves a signed POST to a pod's inbox/. It
//     verifies the signature against the key the sender's WebID profile
//     publishes (nonces kept in the store, so a replay is refused after a
//     restart too), lets the inbox's ACL decide whether the verified agent
//     may Append, and hands the copy to publish.Service.ReceiveRemote,
//     which checks the receiving pod's settings and fans it out.
//
// Failures of a sender's key profile are logged at debug level and never
// sent: the sender is not authenticated yet (errors.go holds what it is
// told).
//
// Imports: publish, deliver, ldp, acl, httpsig, webid, netguard, replay,
// apierr and store; never pod or cmd.
package remote
