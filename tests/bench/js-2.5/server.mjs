// A relay on current automerge-repo (2.5.x) and automerge (3.5.x) for
// `accord-load compare`: one Repo with the WebSocket server adapter and the
// nodefs storage adapter, answering only for documents a peer asks for by id
// (the same share policy as the published sync server). It listens on
// 127.0.0.1 only, accepts port 0, and prints
// `js-2.5 relay listening on http://127.0.0.1:PORT` as its first line.
//
// Environment: DATA_DIR (default .amrg), PORT (default 0 = any free port).
import fs from "node:fs"
import http from "node:http"
import os from "node:os"
import { WebSocketServer } from "ws"
import { Repo } from "@automerge/automerge-repo"
import { NodeWSServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const dataDir = process.env.DATA_DIR ?? ".amrg"
fs.mkdirSync(dataDir, { recursive: true })
const port = process.env.PORT === undefined ? 0 : Number.parseInt(process.env.PORT, 10)

const sockets = new WebSocketServer({ noServer: true })
const repo = new Repo({
  network: [new NodeWSServerAdapter(sockets)],
  storage: new NodeFSStorageAdapter(dataDir),
  peerId: `relay-${os.hostname()}-${process.pid}`,
  sharePolicy: async () => false,
})

const server = http.createServer((_request, response) => {
  response.writeHead(200, { "content-type": "text/plain" })
  response.end("automerge-repo 2.5 relay\n")
})
server.on("upgrade", (request, socket, head) => {
  sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit("connection", ws, request))
})
server.listen(port, "127.0.0.1", () => {
  console.log(`js-2.5 relay listening on http://127.0.0.1:${server.address().port}`)
})

async function stop() {
  server.close()
  // Let pending storage writes finish before leaving.
  await repo.shutdown?.()
  process.exit(0)
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, stop)
