// The JavaScript automerge-repo sync server (@automerge/automerge-repo-sync-server
// 0.2.8), assembled from the same parts and with the same settings as that
// package's src/server.js, except that it listens on 127.0.0.1 only (the
// package calls `app.listen(PORT)`, which binds every interface) and accepts
// port 0. Prints `js relay listening on http://127.0.0.1:PORT` first.
//
// Environment: DATA_DIR (default .amrg), PORT (default 0 = any free port).
import fs from "node:fs"
import os from "node:os"
import express from "express"
import { WebSocketServer } from "ws"
import { Repo } from "@automerge/automerge-repo"
import { NodeWSServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const dir = process.env.DATA_DIR ?? ".amrg"
if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true })
const port = process.env.PORT !== undefined ? parseInt(process.env.PORT, 10) : 0

const socket = new WebSocketServer({ noServer: true })
const app = express()
new Repo({
  network: [new NodeWSServerAdapter(socket)],
  storage: new NodeFSStorageAdapter(dir),
  peerId: `storage-server-${os.hostname()}`,
  // As upstream: only sync documents a peer asks for by id.
  sharePolicy: async () => false,
})
app.get("/", (_req, res) => {
  res.send("@automerge/automerge-repo-sync-server is running")
})
const server = app.listen(port, "127.0.0.1", () => {
  const { port: bound } = server.address()
  console.log(`js relay listening on http://127.0.0.1:${bound}`)
})
server.on("upgrade", (request, sock, head) => {
  socket.handleUpgrade(request, sock, head, (ws) => {
    socket.emit("connection", ws, request)
  })
})
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0))
}
