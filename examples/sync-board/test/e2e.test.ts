/**
 * End to end: three real node processes of the example on loopback (their own
 * mesh: a random secret and a random mDNS port), one headless Chromium page
 * per node (playwright-core driving Debian's chromium). Every wait has a
 * deadline; nothing sleeps.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { generateGroupSecret } from '@meshkit/mesh'
import { spawnJsonProcess, type JsonProcess } from '@meshkit/testing'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'

// What the in-page callbacks use of the DOM (the tests' tsconfig has no DOM lib).
interface El {
  dataset: Record<string, string | undefined>
  textContent: string | null
  querySelector: (selector: string) => El | null
}
declare const document: { getElementById: (id: string) => El | null; querySelectorAll: (selector: string) => Iterable<El> }

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const SCREENSHOTS = fileURLToPath(new URL('../../../artifacts/screenshots/', import.meta.url))
const CI = process.env.CI === 'true' || process.env.CI === '1'
const haveChromium = existsSync(CHROMIUM)
if (!haveChromium) {
  if (CI) throw new Error(`sync-board e2e: ${CHROMIUM} is missing under CI (.ci/run installs Debian's chromium package)`)
  console.warn(`sync-board e2e SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`)
}

/** Deadlines, ms. */
const START = 45_000
const SYNC = 10_000
const FAILOVER = 5_000

interface Node {
  proc: JsonProcess
  id: string
  url: string
  page: Page
}

interface Item {
  id: string
  text: string
}

const items = async (page: Page): Promise<Item[]> =>
  page.$$eval('#items li.item', (lis) => lis.map((li) => ({ id: (li as El).dataset.id ?? '', text: li.querySelector('.text')?.textContent ?? '' })))

const leaderOf = async (page: Page): Promise<string> => page.$eval('#leader', (el) => (el as El).dataset.leaderId ?? '')

/** Waits until every page shows exactly these item texts, in this order. */
async function boardsShow(pages: Page[], texts: string[], timeout = SYNC): Promise<void> {
  try {
    await Promise.all(
      pages.map(async (page) =>
        page.waitForFunction(
          (want) => {
            const got = [...document.querySelectorAll('#items li.item .text')].map((e) => e.textContent)
            return JSON.stringify(got) === JSON.stringify(want)
          },
          texts,
          { timeout, polling: 100 },
        ),
      ),
    )
  } catch (err) {
    // say what each page shows instead
    const seen = await Promise.all(
      pages.map(async (page) => ({
        url: page.url(),
        items: (await items(page).catch(() => [])).map((i) => i.text),
        version: await page.$eval('#version', (e) => (e as El).textContent).catch(() => '?'),
        leader: await page.$eval('#leader-label', (e) => (e as El).textContent).catch(() => '?'),
        failures: await page.$$eval('#failures .failure', (els) => els.map((e) => (e as El).textContent)).catch(() => []),
      })),
    )
    throw new Error(`boards did not all show ${JSON.stringify(texts)} within ${timeout} ms:\n${JSON.stringify(seen, null, 1)}\n${(err as Error).message}`)
  }
  // and not just the same texts: the same items (ids) on every page
  const boards = await Promise.all(pages.map(items))
  for (const b of boards) expect(b).toEqual(boards[0])
}

/** Waits until every page shows `id` as the leader. */
async function leaderIs(pages: Page[], id: string, timeout: number): Promise<void> {
  await Promise.all(pages.map(async (page) => page.waitForFunction((want) => (document.getElementById('leader') as El).dataset.leaderId === want, id, { timeout, polling: 50 })))
}

async function addItem(page: Page, text: string): Promise<void> {
  await page.fill('#add-text', text)
  await page.click('#add-button')
}

const itemRow = (page: Page, text: string): ReturnType<Page['locator']> => page.locator('#items li.item', { has: page.locator('.text', { hasText: new RegExp(`^${text}$`) }) })

describe.skipIf(!haveChromium)('sync-board in three browsers', () => {
  const nodes: Node[] = []
  const procs: JsonProcess[] = []
  let browser: Browser | undefined
  let killed: Node | undefined

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx -y pnpm@12.4.2 exec tsc -b)`)
    mkdirSync(SCREENSHOTS, { recursive: true })
    const secret = generateGroupSecret()
    const mdnsPort = 20_000 + Math.floor(Math.random() * 40_000)
    for (let i = 0; i < 3; i++) {
      // the secret through the environment, as a user would; discovery on loopback only, on a port of this run
      procs.push(spawnJsonProcess(MAIN, ['--json', '--port', '0', '--mdns-port', String(mdnsPort)], { env: { ...process.env, MESHKIT_SECRET: secret } }))
    }
    const listening = await Promise.all(procs.map(async (p) => p.waitFor('listening', () => true, START)))
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--disable-background-networking', '--no-first-run'],
    })
    const context = await browser.newContext({ viewport: { width: 1100, height: 640 } })
    for (const [i, ev] of listening.entries()) {
      const page = await context.newPage()
      await page.goto(String(ev.url))
      await page.waitForSelector('body[data-ready="true"]', { timeout: SYNC })
      nodes.push({ proc: procs[i] as JsonProcess, id: String(ev.id), url: String(ev.url), page })
    }
  }, 120_000)

  afterEach((ctx) => {
    if (ctx.task.result?.state !== 'fail') return
    for (const n of nodes) {
      const lines = n.proc.events.filter((e) => e.ev !== 'peers').map((e) => JSON.stringify(e))
      console.log(`node ${n.id.slice(0, 8)} (${n.url}) events:\n  ${lines.slice(-40).join('\n  ')}\n  stderr: ${n.proc.stderr.slice(-2000)}`)
    }
  })

  afterAll(async () => {
    await browser?.close().catch(() => {})
    await Promise.all(procs.map(async (p) => p.kill('SIGKILL')))
  })

  const pages = (): Page[] => nodes.filter((n) => n !== killed).map((n) => n.page)

  it('every page shows 3 nodes, 3 links and the same leader', async () => {
    await Promise.all(
      pages().map(async (page) =>
        page.waitForFunction(
          () => {
            const svg = document.getElementById('topology') as El
            return svg.dataset.nodes === '3' && svg.dataset.links === '3' && (document.getElementById('leader') as El).dataset.leaderId !== ''
          },
          undefined,
          { timeout: START, polling: 100 },
        ),
      ),
    )
    await expect.poll(async () => new Set(await Promise.all(pages().map(leaderOf))).size, { timeout: SYNC }).toBe(1)
    const leader = await leaderOf(nodes[0]?.page as Page)
    expect(nodes.map((n) => n.id)).toContain(leader)
    // the SVG marks it on every page
    for (const page of pages()) expect(await page.locator(`#topology g.node.leader[data-id="${leader}"]`).count()).toBe(1)
  })

  it('an item added on A appears on B and C; an edit on B and a reorder on C appear everywhere', async () => {
    const [a, b, c] = nodes.map((n) => n.page) as [Page, Page, Page]
    await addItem(a, 'milk')
    await boardsShow(pages(), ['milk'])
    await addItem(b, 'eggs')
    await boardsShow(pages(), ['milk', 'eggs'])
    await addItem(c, 'bread')
    await boardsShow(pages(), ['milk', 'eggs', 'bread'])

    // edit on B
    await itemRow(b, 'eggs').locator('button.edit').click()
    await b.fill('#items input.edit', 'a dozen eggs')
    await b.press('#items input.edit', 'Enter')
    await boardsShow(pages(), ['milk', 'a dozen eggs', 'bread'])

    // reorder on C: bread to the top (two moves up)
    await itemRow(c, 'bread').locator('button.up').click()
    await boardsShow(pages(), ['milk', 'bread', 'a dozen eggs'])
    await itemRow(c, 'bread').locator('button.up').click()
    await boardsShow(pages(), ['bread', 'milk', 'a dozen eggs'])

    // and a delete on A
    await addItem(a, 'typo')
    await boardsShow(pages(), ['bread', 'milk', 'a dozen eggs', 'typo'])
    await itemRow(a, 'typo').locator('button.delete').click()
    await boardsShow(pages(), ['bread', 'milk', 'a dozen eggs'])
    // the same version everywhere
    expect(new Set(await Promise.all(pages().map(async (p) => p.$eval('#version', (e) => (e as El).dataset.version)))).size).toBe(1)
    await b.screenshot({ path: `${SCREENSHOTS}sync-board-after-edits.png`, fullPage: true })
  })

  it('"Become leader" on a follower\'s page makes every page show that node as leader', async () => {
    const current = await leaderOf(nodes[0]?.page as Page)
    const follower = nodes.find((n) => n.id !== current) as Node
    await follower.page.click('#become-leader')
    await leaderIs(pages(), follower.id, SYNC)
    // the board survived the takeover
    await boardsShow(pages(), ['bread', 'milk', 'a dozen eggs'])
  })

  it("SIGKILL of the leader's process: the other two pages show a new leader, the board stays identical and editable", async () => {
    const leaderId = await leaderOf(nodes[0]?.page as Page)
    const leader = nodes.find((n) => n.id === leaderId) as Node
    const survivors = nodes.filter((n) => n !== leader)
    const [s1, s2] = survivors.map((n) => n.page) as [Page, Page]
    // a change made while the leader is gone fails visibly (unless the failover was faster), and a retry lands it
    await s1.fill('#add-text', 'after the crash')
    const answered = s1.waitForResponse((r) => r.url().endsWith('/api/changes'), { timeout: SYNC })
    let sentMs = -1
    const killedAt = Date.now()
    void s1.waitForRequest((r) => r.url().endsWith('/api/changes'), { timeout: SYNC }).then(() => (sentMs = Date.now() - killedAt), () => {})
    const dead = leader.proc.kill('SIGKILL')
    killed = leader
    await s1.click('#add-button')
    await dead
    const firstTry = await answered
    const firstTryMs = Date.now() - killedAt

    await Promise.all(
      [s1, s2].map(async (page) =>
        page.waitForFunction(
          (dead) => {
            const id = (document.getElementById('leader') as El).dataset.leaderId
            return id !== '' && id !== dead
          },
          leaderId,
          { timeout: FAILOVER, polling: 50 },
        ),
      ),
    )
    const failoverMs = Date.now() - killedAt
    const [l1, l2] = await Promise.all([leaderOf(s1), leaderOf(s2)])
    expect(l1).toBe(l2)
    expect(survivors.map((n) => n.id)).toContain(l1)

    // the failed change: shown with a Retry button, never silently lost
    const failure = s1.locator('#failures .failure:not(.pending)')
    await expect.poll(async () => (await items(s1)).some((i) => i.text === 'after the crash') || (await failure.count()) > 0, { timeout: SYNC }).toBe(true)
    const failedVisibly = (await failure.count()) > 0
    if (failedVisibly) {
      expect(await failure.locator('.message').textContent()).toContain('Not saved')
      await failure.locator('button.retry').click()
    }
    expect(failedVisibly).toBe(firstTry.status() !== 200)
    console.log(
      `sync-board e2e: failover seen on both pages ${failoverMs} ms after SIGKILL; the change made meanwhile was sent ${sentMs} ms and answered ${firstTry.status()} ${firstTryMs} ms after the kill and ${failedVisibly ? 'failed visibly, then was retried' : 'went through'}`,
    )
    await boardsShow([s1, s2], ['bread', 'milk', 'a dozen eggs', 'after the crash'])
    expect(await s1.locator('#failures .failure').count()).toBe(0)

    // still editable from both pages
    await itemRow(s2, 'milk').locator('button.edit').click()
    await s2.fill('#items input.edit', 'oat milk')
    await s2.press('#items input.edit', 'Enter')
    await itemRow(s1, 'after the crash').locator('button.up').click()
    await boardsShow([s1, s2], ['bread', 'oat milk', 'after the crash', 'a dozen eggs'])

    // the topology follows: two nodes, one link
    await Promise.all(
      [s1, s2].map(async (page) =>
        page.waitForFunction(() => {
          const svg = document.getElementById('topology') as El
          return svg.dataset.nodes === '2' && svg.dataset.links === '1'
        }, undefined, { timeout: SYNC, polling: 100 }),
      ),
    )
    await s1.screenshot({ path: `${SCREENSHOTS}sync-board-after-failover.png`, fullPage: true })
    // no survivor died on the way (a node crashing on a request to the dead leader did, once)
    for (const n of survivors) expect(n.proc.alive, `node ${n.id} exited: ${n.proc.stderr}`).toBe(true)
  })
})
