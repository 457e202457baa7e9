# The debug console protocol (DESIGN.md §9): `node console` talks to a running node over the
# unix socket <state>/console.sock (mode 0600, same user only). Ordinals are only ever appended.
@0xd829fadaed0752c4;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cascade::console_wire");

struct Latency {
  count @0 :UInt64;      # samples ever recorded
  p50Ns @1 :Int64;       # nearest-rank percentiles over the most recent samples
  p95Ns @2 :Int64;
  p99Ns @3 :Int64;
  maxNs @4 :Int64;
}

struct Status {
  deviceId @0 :Text;
  group @1 :Text;          # the group tag (a hash of the group key, as published over mDNS)
  folder @2 :Text;
  stateDir @3 :Text;
  files @4 :UInt64;
  dirs @5 :UInt64;
  bytes @6 :UInt64;
  deleted @7 :UInt64;      # deletion records kept
  sequence @8 :UInt64;     # our index's last sequence number
  inSync @9 :Bool;
  neededFiles @10 :UInt64; # remote versions not applied yet
  neededBytes @11 :UInt64;
  transfers @12 :UInt64;
  waiting @13 :UInt64;     # needed files without a transfer yet
  hashing @14 :UInt64;
  deletesHeld @15 :UInt64;
  watcherPending @16 :UInt64;
  peersConnected @17 :UInt64;
  peersBehind @18 :UInt64; # connected peers we have not sent every record to yet
  halted @19 :Bool;
  uptimeNs @20 :Int64;
  logLevel @21 :Text;
  latency @22 :Latency;    # change seen by the source's watcher -> applied here
  faults @23 :List(Fault); # what is wrong now (cleared when it heals), oldest first
  paused @24 :Bool;        # by the user (console `pause`): nothing sent or applied until resume
  mode @25 :Text;          # send-receive, send-only or receive-only (--mode, kept in .cascade)
}

# A current fault of the node: a full disk under the index, failed installs, unreadable local
# files, directories without a watch.
struct Fault {
  name @0 :Text;           # stable key: index_disk, installs, unreadable, unwatched
  message @1 :Text;        # one line: what is wrong, what it affects, what the node does
  sinceNs @2 :Int64;       # wall clock (ns since the epoch) when it began; 0: not known
  count @3 :UInt64;        # occurrences while it lasts
}

struct Peer {
  deviceId @0 :Text;       # empty if not known yet (a dial target never reached)
  address @1 :Text;
  found @2 :Text;          # static | discovered | static+discovered | inbound
  state @3 :Text;          # connected | dialing | disconnected
  outbound @4 :Bool;
  rttNs @5 :Int64;         # -1: not measured yet
  bytesIn @6 :UInt64;
  bytesOut @7 :UInt64;
  rateIn @8 :Float64;      # bytes/s
  rateOut @9 :Float64;
  connectedNs @10 :Int64;
  lastError @11 :Text;
  hasLatency @12 :Bool;
  latency @13 :Latency;    # records from this peer, change seen at the source -> applied here
  session @14 :UInt64;
}

struct Counter {
  key @0 :Text;
  value @1 :UInt64;
}

struct Transfer {
  path @0 :Text;
  size @1 :UInt64;
  fetched @2 :UInt64;
  copied @3 :UInt64;
  rate @4 :Float64;        # bytes/s
  upstream @5 :Text;       # device id
  downstreams @6 :List(Text);
  startedNs @7 :Int64;     # wall clock
}

struct Actor {
  kind @0 :Text;
  name @1 :Text;
  state @2 :Text;
  mailbox @3 :UInt64;
  answered @4 :Bool;
  counters @5 :List(Counter);
  transfer @6 :Transfer;   # set for kind "transfer"
  isTransfer @7 :Bool;
}

struct VersionEntry {
  device @0 :Text;         # short id (13 base32 characters)
  deviceId @1 :Text;       # the full device id, when known
  counter @2 :UInt64;
}

struct Chunk {
  offset @0 :UInt64;
  length @1 :UInt32;
  hash @2 :Text;           # hex
}

struct Record {
  path @0 :Text;
  type @1 :Text;           # file | dir | symlink
  size @2 :UInt64;
  mtimeNs @3 :Int64;
  mode @4 :UInt32;
  deleted @5 :Bool;
  version @6 :List(VersionEntry);
  sequence @7 :UInt64;
  modifiedBy @8 :Text;     # short id
  chunks @9 :List(Chunk);
  symlinkTarget @10 :Text;
  changedAtNs @11 :Int64;
}

struct File {
  record @0 :Record;
  has @1 :List(Text);      # devices known to hold this version
  sentTo @2 :List(Text);   # connected peers we have sent it to
  receivedFrom @3 :Text;   # empty: a local change
  hasNeeded @4 :Bool;
  needed @5 :Record;       # a newer remote version not applied yet
  neededFrom @6 :Text;
}

struct Conflict {
  path @0 :Text;
  original @1 :Text;
  device @2 :Text;
  time @3 :Text;
  size @4 :UInt64;
  mtimeNs @5 :Int64;
}

struct Version {
  path @0 :Text;           # the file's path in the folder
  name @1 :Text;           # under .cascade/versions
  time @2 :Text;           # YYYYMMDD-HHMMSS (UTC): when a peer replaced it
  size @3 :UInt64;
  mtimeNs @4 :Int64;       # the content's own time
}

struct IgnorePattern {
  source @0 :Text;  # the file it is read from (.cascadeignore or an included file)
  line @1 :UInt32;
  text @2 :Text;    # the line as written
}

interface Console {
  status @0 () -> (status :Status);
  peers @1 () -> (peers :List(Peer));
  actors @2 () -> (actors :List(Actor));
  files @3 (glob :Text) -> (files :List(File), truncated :Bool);
  conflicts @4 () -> (conflicts :List(Conflict));
  rescan @5 (path :Text) -> (scanned :UInt64, changes :UInt64, hashing :UInt64);
  setLogLevel @6 (level :Text) -> (previous :Text);
  deny @7 (deviceId :Text) -> (message :Text);
  transfers @8 () -> (transfers :List(Transfer));
  versions @9 (glob :Text) -> (versions :List(Version));
  restore @10 (path :Text, time :Text) -> (message :Text);
  ignores @11 () -> (patterns :List(IgnorePattern), warnings :List(Text));
  # Paths on disk the patterns hide (an ignored directory is one line, not entered).
  ignoredFiles @12 (glob :Text) -> (paths :List(Text), truncated :Bool);
  # The user's pause: no peer's changes applied, none of ours sent, transfers stopped (their
  # verified chunks kept); local changes still recorded. Kept across restarts.
  pause @13 () -> (message :Text);
  resume @14 () -> (message :Text);
  # Folder modes. send-only: the paths where the group's version differs from ours (changes:
  # new, modified, deleted or type, per path), and `override`, which announces our state over
  # them. receive-only: our local changes, never announced (changes: changed or deleted), and
  # `revert`, which moves them to the versions directory and fetches the group's again.
  outOfSync @15 (glob :Text) -> (paths :List(Text), changes :List(Text), truncated :Bool);
  overrideGroup @16 () -> (message :Text);
  localChanges @17 (glob :Text) -> (paths :List(Text), changes :List(Text), truncated :Bool);
  revertLocal @18 () -> (message :Text);
}
# Errors (a bad glob, an unknown level, a malformed id) come back as exceptions whose
# description is the message to show.
