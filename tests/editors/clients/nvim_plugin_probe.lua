-- Headless Neovim (0.11) driving the codescaler Neovim plugin (extensions/nvim) like a user, for
-- tests/editors/test_nvim_plugin.py:
--
--   nvim --headless --clean -u NONE -S nvim_plugin_probe.lua
--
-- Unlike tests/lsp/clients/nvim_probe.lua (raw LSP requests), nothing here talks to the server
-- directly except to read its counters: the plugin's setup() starts it from a FileType autocmd, keys go
-- through Neovim's input queue (nvim_input) into the plugin's insert-mode mappings and autocmds, and the
-- probe reads what the user would see: extmarks, the buffer, the completion menu, notifications.
-- Steps run in a coroutine so the main loop keeps processing input and LSP messages between them.
--
-- Environment: the variables of tests/lsp/editor_probe.py `probe_vars` (CODESCALER_PROBE_CMD, _POLICY,
-- _REWARD, _FILE, _PIDFILE) plus
--   CODESCALER_PROBE_PLUGIN      the plugin folder (extensions/nvim), put on 'runtimepath'
--   CODESCALER_PROBE_TOKEN_FILE  a token file for setup{ token_file = ... }
--   CODESCALER_PROBE_DOC_COPY    a scratch folder for generating the help tags of a copy of doc/
-- Prints one JSON object per line on stdout ({"event": ...}); exits 0 when every step ran.

local LINE = "# 日本語 😀 note: " -- a comment line: nearly any single-line suggestion keeps it valid
local LOAD_TIMEOUT_MS = 90000 -- the first suggestion waits for the models to load
local STEP_TIMEOUT_MS = 30000

local api = vim.api

local function emit(event, fields)
  fields = fields or {}
  fields.event = event
  local json = vim.json.encode(fields) -- U+2028 and friends may stay raw: run_probe splits on "\n" only
  -- a leading newline: Neovim may have written a message without one
  io.stdout:write("\n", json, "\n")
  io.stdout:flush()
end

local function env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error("missing environment variable " .. name)
  end
  return value
end

-- Notifications are recorded (a headless Neovim has nowhere to show them).
local notifications = {}
vim.notify = function(message, level)
  notifications[#notifications + 1] = { message = tostring(message), level = level }
end

-- Coroutine plumbing ---------------------------------------------------------------------------------

local runner
local function resume()
  local ok, err = coroutine.resume(runner)
  if not ok then
    emit("error", { message = "probe coroutine: " .. tostring(err) })
    vim.cmd("cquit 1")
  end
end

local function sleep(ms)
  vim.defer_fn(resume, ms)
  coroutine.yield()
end

local function now_ms()
  return vim.uv.hrtime() / 1e6
end

local function wait_for(what, timeout_ms, condition, poll_ms)
  local deadline = now_ms() + timeout_ms
  while true do
    local value = condition()
    if value then
      return value
    end
    if now_ms() > deadline then
      error(("timed out after %d ms waiting for %s"):format(timeout_ms, what))
    end
    sleep(poll_ms or 20)
  end
end

--- Type keys as a user would (through mappings), then let the main loop process them.
local function keys(text)
  api.nvim_input(text)
  sleep(30) -- the main loop takes the keys as soon as this callback yields
end

-- What the user sees ---------------------------------------------------------------------------------

local codescaler, inline, bufnr

local function line1()
  return api.nvim_buf_get_lines(bufnr, 0, 1, false)[1]
end

--- The plugin's suggestion extmarks: the text they draw (count hints left out) and where.
local function drawn()
  local marks = api.nvim_buf_get_extmarks(bufnr, inline.ns, 0, -1, { details = true })
  local result = { count = #marks }
  local mark = marks[1]
  if mark then
    local details = mark[4]
    local function text_of(chunks)
      local parts, hints = {}, {}
      for _, chunk in ipairs(chunks or {}) do
        if chunk[2] == inline.hl_count then
          hints[#hints + 1] = chunk[1]
        else
          parts[#parts + 1] = chunk[1]
        end
      end
      return table.concat(parts), table.concat(hints)
    end
    local lines, hints = {}, {}
    lines[1], hints[1] = text_of(details.virt_text)
    for _, virt_line in ipairs(details.virt_lines or {}) do
      lines[#lines + 1], hints[#hints + 1] = text_of(virt_line)
    end
    result.row, result.col = mark[2], mark[3]
    result.text = table.concat(lines, "\n")
    result.hint = table.concat(hints)
    result.virt_text_pos = details.virt_text_pos
    result.hl_group = details.virt_text and details.virt_text[1] and details.virt_text[1][2]
  end
  return result
end

--- The item's text as Neovim shows text in a buffer (control characters as ^A and so on).
local function as_shown(text)
  local lines = vim.split(text, "\n", { plain = true })
  for i, line in ipairs(lines) do
    local parts = vim.split(line, "\t", { plain = true })
    lines[i] = table.concat(vim.tbl_map(vim.fn.strtrans, parts), "\t")
  end
  return table.concat(lines, "\n")
end

local function showing()
  local current = inline.current(bufnr)
  if current then
    local seen = drawn()
    seen.expected = as_shown(current.text)
    return {
      invoked = current.invoked,
      index = current.index,
      count = current.count,
      text = current.text,
      item = current.item,
      drawn = seen,
      cursor = api.nvim_win_get_cursor(0),
      mode = api.nvim_get_mode().mode,
    }
  end
end

local function client()
  return vim.lsp.get_clients({ bufnr = bufnr, name = "codescaler" })[1]
end

--- An LSP request through the plugin's client, waited for in the coroutine.
local function request(method, params)
  local answer
  client():request(method, params, function(err, result)
    answer = { err = err, result = result }
  end, bufnr)
  return wait_for(method, STEP_TIMEOUT_MS, function()
    return answer
  end)
end

local function stats()
  local answer = request("codescaler/stats", vim.empty_dict())
  assert(answer.err == nil, vim.inspect(answer.err))
  return answer.result
end

local function note_server_pids()
  local pidfile = os.getenv("CODESCALER_PROBE_PIDFILE")
  local children = api.nvim_get_proc_children(vim.fn.getpid())
  if pidfile and pidfile ~= "" then
    local old = vim.fn.filereadable(pidfile) == 1 and vim.fn.readfile(pidfile) or {}
    vim.list_extend(old, vim.tbl_map(tostring, children))
    vim.fn.writefile(old, pidfile)
  end
  return children
end

local function read_file(path)
  local file = io.open(path, "rb")
  if not file then
    return nil
  end
  local data = file:read("*a")
  file:close()
  return data
end

local statuses = {}
api.nvim_create_autocmd("User", {
  pattern = "CodescalerStatus",
  callback = function(args)
    if type(args.data) == "table" and args.data.state then
      statuses[#statuses + 1] = args.data.state
    end
  end,
})

-- The steps ------------------------------------------------------------------------------------------

local function main()
  vim.opt.runtimepath:prepend(env("CODESCALER_PROBE_PLUGIN"))
  vim.cmd("filetype on") -- `-u NONE` skips it; a user's config has it
  local token_file = env("CODESCALER_PROBE_TOKEN_FILE")
  local token = vim.trim(read_file(token_file))

  codescaler = require("codescaler")
  inline = require("codescaler.inline")
  -- Settings as the server will read them, for a setup() with nothing and with one option.
  local config = require("codescaler.config")
  emit("settings", {
    empty = vim.json.encode(config.server_settings(config.resolve({}))),
    policy_only = vim.json.encode(config.server_settings(config.resolve({ policy = "p", settings = { languages = {} } }))),
  })
  codescaler.setup({
    cmd = vim.json.decode(env("CODESCALER_PROBE_CMD")),
    policy = env("CODESCALER_PROBE_POLICY"),
    reward_model = env("CODESCALER_PROBE_REWARD"),
    token_file = token_file,
    settings = { completion = { n = 4, max_new_tokens = 16, line_mode = "single", debounce_ms = 0 } },
    debounce_ms = 80,
  })

  -- Opening a Python file starts the server (FileType autocmd) and attaches it.
  local file = env("CODESCALER_PROBE_FILE")
  vim.fn.writefile({ LINE, "x = 1" }, file)
  vim.cmd.edit(vim.fn.fnameescape(file))
  bufnr = api.nvim_get_current_buf()
  wait_for("the codescaler client to attach", STEP_TIMEOUT_MS, function()
    local c = client()
    return c and c.initialized and vim.lsp.buf_is_attached(bufnr, c.id)
  end)
  local first_client = client()
  local pids = note_server_pids()
  local cmdline = pids[1] and read_file(("/proc/%d/cmdline"):format(pids[1])) or ""
  local environ = pids[1] and read_file(("/proc/%d/environ"):format(pids[1])) or ""
  local caps = first_client.server_capabilities or {}
  emit("client", {
    nvim = tostring(vim.version()),
    filetype = vim.bo[bufnr].filetype,
    offset_encoding = first_client.offset_encoding,
    inline_backend = codescaler.inline_backend(),
    inline_provider = caps.inlineCompletionProvider ~= nil,
    completion_provider = caps.completionProvider ~= nil,
    omnifunc = vim.bo[bufnr].omnifunc,
    init_options = first_client.config.init_options,
    token_in_cmdline = cmdline:find(token, 1, true) ~= nil,
    token_in_environ = environ:find("CODESCALER_ENGINE_TOKEN=" .. token, 1, true) ~= nil,
    token_in_settings = vim.inspect(first_client.config.settings):find(token, 1, true) ~= nil,
    server_pids = pids,
    keymaps = vim.tbl_map(function(map)
      return map.lhs
    end, api.nvim_buf_get_keymap(bufnr, "i")),
    line = LINE,
  })

  -- 1. Insert mode at the end of the comment line: the automatic suggestion appears as ghost text.
  keys("A")
  local auto = wait_for("an automatic suggestion", LOAD_TIMEOUT_MS, showing)
  emit("auto", auto)

  -- 2. next: only the automatic item is there, so the plugin asks for the ranked list and shows #2.
  keys("<M-]>")
  local nxt = wait_for("the ranked list after <M-]>", STEP_TIMEOUT_MS, function()
    local current = inline.current(bufnr)
    return current and current.invoked and showing()
  end)
  keys("<M-[>")
  local prev = showing()
  emit("cycle", { next = nxt, prev = prev })

  -- 3. dismiss clears the ghost text; <Tab> with nothing showing keeps its own meaning.
  keys("<C-]>")
  local after_dismiss = { drawn = drawn(), current = inline.current(bufnr) ~= nil, line = line1() }
  keys("<Tab>")
  local after_tab = line1()
  keys("<C-u>") -- deletes what was typed since insert mode began: the tab
  emit("dismiss", { after = after_dismiss, line_after_tab = after_tab, line_after_ctrl_u = line1() })

  -- 4. The trigger key asks for ranked items (Invoked); the first one is accepted with <Tab>.
  local before = stats()
  keys("<M-\\>")
  local invoked = wait_for("suggestions after the trigger key", STEP_TIMEOUT_MS, showing)
  local inline_items = inline.current(bufnr) and { invoked.item } or {}
  keys("<Tab>")
  local accepted_line = line1()
  local accepted_cursor = api.nvim_win_get_cursor(0)
  local accepted_mode = api.nvim_get_mode().mode
  local after_accept_marks = drawn().count
  local counters = wait_for("the server to count the acceptance", STEP_TIMEOUT_MS, function()
    local s = stats()
    return s.accepted > before.accepted and s
  end, 100)
  emit("inline", { result = { items = inline_items } })
  emit("accept", {
    shown = invoked,
    line = accepted_line,
    cursor = accepted_cursor,
    mode = accepted_mode,
    marks_after = after_accept_marks,
    accepted_before = before.accepted,
    accepted_after = counters.accepted,
    shown_after = counters.shown,
    token_setting = vim.tbl_get(counters, "settings", "models", "token"),
  })

  -- 5. Typing the start of a suggestion keeps the rest of it (no new request), accept_word takes a word.
  keys("<M-\\>")
  local again = wait_for("a suggestion to type through", STEP_TIMEOUT_MS, showing)
  local first_char = vim.fn.strcharpart(again.text, 0, 1)
  local requests_before = stats().requests
  -- typed literally: "<" is a key name's start, control characters are commands in insert mode
  local literal = first_char == "<" and "<lt>" or first_char:match("^[%c]$") and ("<C-v>" .. first_char)
  keys(literal or first_char)
  local typed = showing()
  local requests_after = stats().requests
  local word_line_before = line1()
  local word_text_before = typed and typed.text
  keys("<M-Right>")
  local word = { line_before = word_line_before, text_before = word_text_before, line = line1(), rest = showing() }
  emit("typed", {
    before = again,
    first_char = first_char,
    after = typed,
    requests_before = requests_before,
    requests_after = requests_after,
    word = word,
  })
  keys("<C-]>")

  -- 6. The completion menu: <C-x><C-o> (omnifunc -> textDocument/completion), the first item accepted.
  local menu_line_before = line1()
  keys("<C-x><C-o>")
  local info = wait_for("completion menu items", STEP_TIMEOUT_MS, function()
    local i = vim.fn.complete_info({ "items", "selected", "mode" })
    return #i.items > 0 and i
  end)
  local menu_items = {}
  for _, entry in ipairs(info.items) do
    local lsp_item = vim.tbl_get(entry, "user_data", "nvim", "lsp", "completion_item")
    menu_items[#menu_items + 1] = { word = entry.word, lsp = lsp_item }
  end
  if info.selected < 0 then
    keys("<C-n>")
  end
  keys("<C-y>")
  emit("completion", {
    result = { items = vim.tbl_map(function(e)
      return e.lsp
    end, menu_items) },
    menu = menu_items,
    mode = info.mode,
    line_before = menu_line_before,
    line_after = line1(),
  })
  keys("<Esc>")

  -- 7. :CodescalerToggle turns suggestions off (the plugin's and the server's), and on again.
  vim.cmd("CodescalerToggle")
  local off_status = codescaler.status(bufnr)
  local position = vim.lsp.util.make_position_params(0, client().offset_encoding)
  api.nvim_win_set_cursor(0, { 1, #line1() })
  position = vim.lsp.util.make_position_params(0, client().offset_encoding)
  position.context = { triggerKind = 1 }
  local off_answer = request("textDocument/completion", position)
  keys("A")
  sleep(400)
  local off_shown = drawn().count
  keys("<Esc>")
  vim.cmd("CodescalerToggle")
  local on_answer = request("textDocument/completion", position)
  emit("toggle", {
    off_status = off_status,
    on_status = codescaler.status(bufnr),
    off_items = #((off_answer.result or {}).items or {}),
    off_marks = off_shown,
    on_items = #((on_answer.result or {}).items or {}),
  })

  -- 8. :CodescalerRestart starts a new server, which answers too.
  vim.cmd("CodescalerRestart")
  local second = wait_for("a new client after :CodescalerRestart", STEP_TIMEOUT_MS, function()
    local c = client()
    return c and c.id ~= first_client.id and c.initialized and c
  end)
  note_server_pids()
  keys("A")
  local restarted = wait_for("a suggestion from the restarted server", LOAD_TIMEOUT_MS, showing)
  keys("<Esc>")
  emit("restart", {
    old_stopped = first_client:is_stopped(),
    new_id = second.id,
    old_id = first_client.id,
    shown = restarted ~= nil,
    status = codescaler.status(bufnr),
  })

  -- 9. :checkhealth and :help.
  vim.cmd("checkhealth codescaler")
  local health = table.concat(api.nvim_buf_get_lines(0, 0, -1, false), "\n")
  vim.cmd("tabclose")
  local doc_copy = env("CODESCALER_PROBE_DOC_COPY")
  vim.fn.mkdir(doc_copy .. "/doc", "p")
  vim.fn.writefile(vim.fn.readfile(env("CODESCALER_PROBE_PLUGIN") .. "/doc/codescaler.txt"), doc_copy .. "/doc/codescaler.txt")
  local tags_ok, tags_err = pcall(vim.cmd, "helptags " .. vim.fn.fnameescape(doc_copy .. "/doc"))
  vim.opt.runtimepath:append(doc_copy)
  local help = {}
  for _, tag in ipairs({ "codescaler", "codescaler-setup", ":CodescalerToggle", "codescaler-keymaps" }) do
    local ok, err = pcall(vim.cmd, "help " .. tag)
    help[tag] = ok and vim.fs.basename(api.nvim_buf_get_name(0)) or tostring(err)
    if ok then
      vim.cmd("helpclose")
    end
  end
  emit("docs", {
    health = health,
    helptags = tags_ok and "ok" or tostring(tags_err),
    help = help,
  })
  emit("status", { statuses = statuses, notifications = notifications, stats = stats() })
end

runner = coroutine.create(function()
  local ok, failure = xpcall(main, debug.traceback)
  if not ok then
    emit("error", { message = tostring(failure), notifications = notifications })
  end
  for _, c in ipairs(vim.lsp.get_clients({ name = "codescaler" })) do
    c:stop()
  end
  pcall(wait_for, "the servers to stop", 10000, function()
    return #vim.lsp.get_clients({ name = "codescaler" }) == 0
  end, 50)
  for _, c in ipairs(vim.lsp.get_clients({ name = "codescaler" })) do
    c:stop(true)
  end
  vim.cmd(ok and "qall!" or "cquit 1")
end)

vim.defer_fn(function()
  emit("error", { message = "probe watchdog: still running after 170 s", notifications = notifications })
  vim.cmd("cquit 2")
end, 170000)

vim.schedule(resume)
