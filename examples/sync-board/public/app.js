/* global document, window, EventSource, fetch */
// sync-board's page: renders the node's view (Server-Sent Events from /events)
// and POSTs changes to /api/changes. Plain browser JavaScript, no build step.
'use strict'

const $ = (id) => document.getElementById(id)
const short = (id) => (id ? id.slice(0, 8) : '—')
const SVG = 'http://www.w3.org/2000/svg'

let view = null
let boardKey = ''
let editing = null // { id, draft }
let failureSeq = 0

function newId() {
  if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID().replace(/-/g, '').slice(0, 16)
  return Math.random().toString(36).slice(2, 10) + Date.now().toString(36)
}

// ---- changes ------------------------------------------------------------------

/** POSTs a change; a failure stays on the page with a Retry button until it succeeds or is dismissed. */
async function change(op, existing) {
  const box = existing || document.createElement('div')
  if (!existing) {
    box.dataset.seq = String(++failureSeq)
    $('failures').appendChild(box)
  }
  box.className = 'failure pending'
  box.textContent = ''
  const label = document.createElement('span')
  label.textContent = 'sending ' + describe(op) + '…'
  box.appendChild(label)
  let result
  try {
    const res = await fetch('/api/changes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(op) })
    const body = await res.json().catch(() => ({ ok: false, error: 'HTTP ' + res.status }))
    result = res.ok && body.ok ? { ok: true } : { ok: false, error: body.error || 'HTTP ' + res.status }
  } catch (err) {
    result = { ok: false, error: 'this device did not answer (' + err.message + ')' }
  }
  if (result.ok) {
    box.remove()
    return
  }
  box.className = 'failure'
  box.textContent = ''
  const msg = document.createElement('span')
  msg.className = 'message'
  msg.textContent = 'Not saved: ' + describe(op) + ': ' + result.error
  const retry = document.createElement('button')
  retry.type = 'button'
  retry.className = 'retry'
  retry.textContent = 'Retry'
  retry.onclick = () => void change(op, box)
  const dismiss = document.createElement('button')
  dismiss.type = 'button'
  dismiss.className = 'dismiss'
  dismiss.textContent = 'Dismiss'
  dismiss.onclick = () => box.remove()
  box.append(msg, retry, dismiss)
}

function describe(op) {
  switch (op.type) {
    case 'add': return 'add "' + op.text + '"'
    case 'edit': return 'edit to "' + op.text + '"'
    case 'move': return 'move to position ' + (op.index + 1)
    case 'delete': return 'delete'
    default: return op.type
  }
}

$('add-form').addEventListener('submit', (e) => {
  e.preventDefault()
  const input = $('add-text')
  const text = input.value.trim()
  if (text === '') return
  input.value = ''
  void change({ type: 'add', id: newId(), text })
})

$('become-leader').addEventListener('click', async () => {
  const button = $('become-leader')
  button.disabled = true
  try {
    const res = await fetch('/api/leader', { method: 'POST' })
    const body = await res.json().catch(() => ({}))
    if (!res.ok) showError('Could not become leader: ' + (body.error || 'HTTP ' + res.status))
  } catch (err) {
    showError('Could not become leader: ' + err.message)
  } finally {
    button.disabled = false
  }
})

function showError(text) {
  const box = document.createElement('div')
  box.className = 'failure'
  const msg = document.createElement('span')
  msg.className = 'message'
  msg.textContent = text
  const dismiss = document.createElement('button')
  dismiss.type = 'button'
  dismiss.textContent = 'Dismiss'
  dismiss.onclick = () => box.remove()
  box.append(msg, dismiss)
  $('failures').appendChild(box)
}

// ---- board --------------------------------------------------------------------

function button(cls, text, title, onclick) {
  const b = document.createElement('button')
  b.type = 'button'
  b.className = cls
  b.textContent = text
  b.title = title
  b.onclick = onclick
  return b
}

function renderBoard(force) {
  const board = view.board
  const key = board.term + '/' + board.version + '/' + (editing ? editing.id : '')
  $('version').textContent = 'v' + board.version + ' · term ' + board.term
  $('version').dataset.version = String(board.version)
  $('version').dataset.term = String(board.term)
  if (key === boardKey && !force) return
  boardKey = key
  const list = $('items')
  list.textContent = ''
  const n = board.items.length
  board.items.forEach((item, index) => {
    const li = document.createElement('li')
    li.className = 'item'
    li.dataset.id = item.id
    const row = document.createElement('div')
    row.className = 'row'
    if (editing && editing.id === item.id) {
      const input = document.createElement('input')
      input.className = 'edit'
      input.maxLength = 500
      input.value = editing.draft
      input.oninput = () => { editing.draft = input.value }
      const save = () => {
        const text = input.value.trim()
        editing = null
        renderBoard(true)
        if (text !== '' && text !== item.text) void change({ type: 'edit', id: item.id, text })
      }
      input.onkeydown = (e) => {
        if (e.key === 'Enter') save()
        if (e.key === 'Escape') { editing = null; renderBoard(true) }
      }
      row.append(input, button('save', 'Save', 'save', save))
      li.appendChild(row)
      list.appendChild(li)
      setTimeout(() => input.focus(), 0)
      return
    }
    const text = document.createElement('span')
    text.className = 'text'
    text.textContent = item.text
    text.title = 'double-click to edit'
    const startEdit = () => { editing = { id: item.id, draft: item.text }; renderBoard(true) }
    text.ondblclick = startEdit
    const up = button('up', '↑', 'move up', () => void change({ type: 'move', id: item.id, index: index - 1 }))
    const down = button('down', '↓', 'move down', () => void change({ type: 'move', id: item.id, index: index + 1 }))
    up.disabled = index === 0
    down.disabled = index === n - 1
    row.append(text, button('edit', '✎', 'edit', startEdit), up, down, button('delete', '✕', 'delete', () => void change({ type: 'delete', id: item.id })))
    li.appendChild(row)
    list.appendChild(li)
  })
  $('empty').style.display = n === 0 ? '' : 'none'
}

// ---- header and topology ------------------------------------------------------------

function renderHeader() {
  $('self-id').textContent = short(view.id)
  $('self-id').title = view.id
  const leader = view.leader
  const el = $('leader')
  el.dataset.leaderId = leader.id || ''
  el.dataset.term = String(leader.term)
  el.dataset.role = leader.role
  $('leader-label').textContent = leader.id ? short(leader.id) + (leader.role === 'leader' ? ' (this device)' : '') + ' · term ' + leader.term + (view.syncing ? ' · syncing' : '') : 'none (election under way)'
  $('become-leader').style.display = leader.role === 'leader' ? 'none' : ''
}

function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag)
  for (const k of Object.keys(attrs)) el.setAttribute(k, String(attrs[k]))
  if (text !== undefined) el.textContent = text
  return el
}

function renderTopology() {
  const { nodes, links } = view.topology
  const root = $('topology')
  root.dataset.nodes = String(nodes.length)
  root.dataset.links = String(links.length)
  root.textContent = ''
  const cx = 200
  const cy = 175
  const r = nodes.length > 1 ? 115 : 0
  const at = new Map()
  nodes.forEach((n, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / nodes.length
    at.set(n.id, { x: cx + r * Math.cos(a), y: cy + r * Math.sin(a) })
  })
  for (const l of links) {
    const a = at.get(l.a)
    const b = at.get(l.b)
    if (!a || !b) continue
    const g = svg('g', { class: 'link', 'data-a': l.a, 'data-b': l.b })
    g.appendChild(svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y }))
    // the label beside the line's middle, on the side away from the centre
    const mx = (a.x + b.x) / 2
    const my = (a.y + b.y) / 2
    const len = Math.hypot(b.x - a.x, b.y - a.y) || 1
    let px = (b.y - a.y) / len
    let py = -(b.x - a.x) / len
    if (px * (mx - cx) + py * (my - cy) < 0) { px = -px; py = -py }
    const lx = mx + px * 10
    const ly = my + py * 10 + 4
    const anchor = px > 0.3 ? 'start' : px < -0.3 ? 'end' : 'middle'
    const label = svg('text', { class: 'rate', x: lx, y: ly, 'text-anchor': anchor }, l.rate.toFixed(1) + ' msg/s')
    if (l.rttMs !== undefined) label.appendChild(svg('tspan', { x: lx, dy: 12 }, 'rtt ' + l.rttMs + ' ms'))
    g.appendChild(label)
    root.appendChild(g)
  }
  for (const n of nodes) {
    const p = at.get(n.id)
    const g = svg('g', { class: 'node' + (n.self ? ' self' : '') + (n.leader ? ' leader' : ''), 'data-id': n.id })
    g.appendChild(svg('title', {}, n.id + (n.self ? ' (this device)' : '') + (n.leader ? ' (leader)' : '')))
    g.appendChild(svg('circle', { cx: p.x, cy: p.y, r: 33 }))
    g.appendChild(svg('text', { x: p.x, y: p.y - 2 }, short(n.id)))
    g.appendChild(svg('text', { class: 'rate', x: p.x, y: p.y + 13 }, '↑' + n.out.toFixed(0) + ' ↓' + n.in.toFixed(0) + '/s'))
    if (n.leader) g.appendChild(svg('text', { class: 'crown', x: p.x, y: p.y - 39 }, '♛ leader'))
    if (n.self) g.appendChild(svg('text', { class: 'rate', x: p.x, y: p.y + 48 }, 'this device'))
    root.appendChild(g)
  }
  $('topology-summary').textContent = nodes.length + ' node' + (nodes.length === 1 ? '' : 's') + ', ' + links.length + ' connection' + (links.length === 1 ? '' : 's')
}

// ---- the event stream -------------------------------------------------------------

function connect() {
  const source = new EventSource('/events')
  source.addEventListener('open', () => {
    $('conn').textContent = 'live'
    $('conn').className = 'badge ok'
  })
  source.addEventListener('error', () => {
    $('conn').textContent = 'disconnected from this device (retrying)'
    $('conn').className = 'badge bad'
  })
  source.addEventListener('view', (e) => {
    view = JSON.parse(e.data)
    renderHeader()
    renderBoard(false)
    renderTopology()
    document.body.dataset.ready = 'true'
  })
}

connect()
