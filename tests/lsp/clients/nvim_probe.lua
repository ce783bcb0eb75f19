-- Headless Neovim (>= 0.11) as a real LSP client of `codescaler lsp`, for tests/lsp/test_neovim.py.
--
--   nvim --headless --clean -l nvim_probe.lua
--
-- Environment:
--   CODESCALER_PROBE_CMD     the server command, a JSON array (e.g. ["/path/codescaler", "lsp"])
--   CODESCALER_PROBE_POLICY  tiny policy model folder
--   CODESCALER_PROBE_REWARD  tiny reward model folder
--   CODESCALER_PROBE_FILE    the Python file to create and edit (its folder is the workspace root)
--   CODESCALER_PROBE_PIDFILE (optional) where to write the server's process id, so the test can make
--                            sure it is gone afterwards
--
-- Neovim itself opens the buffer, starts the server, negotiates the position encoding, sends didOpen and
-- converts the cursor to an LSP position; the probe only asks for completion and inline completion at the
-- cursor and prints one JSON object per line on stdout: {"event": "client"|"completion"|"inline", ...}.
-- It exits 0 when every step ran (whatever the answers were: the test judges them), non-zero otherwise.

local LINE = "# 日本語 😀 note: " -- a comment line: nearly any single-line candidate keeps it valid
local TIMEOUT_MS = 60000 -- the first request waits for the models to load

local function emit(event, fields)
  fields = fields or {}
  fields.event = event
  io.stdout:write(vim.json.encode(fields), "\n")
  io.stdout:flush()
end

local function env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error("missing environment variable " .. name)
  end
  return value
end

local client

local function main()
  local cmd = vim.json.decode(env("CODESCALER_PROBE_CMD"))
  local file = env("CODESCALER_PROBE_FILE")
  vim.fn.writefile({ LINE, "x = 1" }, file)
  vim.cmd.edit(vim.fn.fnameescape(file))
  vim.bo.filetype = "python" -- `-l` skips filetype detection; the languageId in didOpen comes from this
  local bufnr = vim.api.nvim_get_current_buf()

  local client_id = vim.lsp.start({
    name = "codescaler",
    cmd = cmd,
    root_dir = vim.fs.dirname(file),
    init_options = {
      models = { policy = env("CODESCALER_PROBE_POLICY"), reward_model = env("CODESCALER_PROBE_REWARD") },
      completion = { n = 4, max_new_tokens = 16, line_mode = "single", debounce_ms = 0 },
    },
  }, { bufnr = bufnr })
  if client_id == nil then
    error("vim.lsp.start returned nil")
  end
  local pidfile = os.getenv("CODESCALER_PROBE_PIDFILE")
  if pidfile ~= nil and pidfile ~= "" then -- the server is this Neovim's only child process
    vim.fn.writefile(vim.tbl_map(tostring, vim.api.nvim_get_proc_children(vim.fn.getpid())), pidfile)
  end
  local attached = vim.wait(30000, function()
    local c = vim.lsp.get_client_by_id(client_id)
    return c ~= nil and c.initialized == true and vim.lsp.buf_is_attached(bufnr, client_id)
  end, 50)
  if not attached then
    error("the client did not initialize and attach within 30 s")
  end
  client = assert(vim.lsp.get_client_by_id(client_id))

  -- Cursor at the end of the comment line, as in insert mode after typing it ('virtualedit' lets the
  -- normal-mode cursor sit past the last character). Neovim's columns are bytes; Neovim itself converts
  -- the cursor to an LSP position in the negotiated encoding.
  vim.o.virtualedit = "onemore"
  vim.api.nvim_win_set_cursor(0, { 1, #LINE })
  local position = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local caps = client.server_capabilities or {}
  emit("client", {
    offset_encoding = client.offset_encoding,
    position = position.position,
    cursor_byte_col = #LINE,
    line = LINE,
    nvim = tostring(vim.version()),
    inline_provider = caps.inlineCompletionProvider ~= nil,
    completion_provider = caps.completionProvider ~= nil,
  })

  local completion_params = vim.tbl_extend("force", position, { context = { triggerKind = 1 } })
  local answers, err = vim.lsp.buf_request_sync(bufnr, "textDocument/completion", completion_params, TIMEOUT_MS)
  local answer = answers and answers[client_id] or {}
  emit("completion", { result = answer.result, error = answer.err or err })

  -- Neovim 0.11 has no inline-completion UI (0.12 does): send the LSP 3.18 request raw.
  local inline_params = vim.tbl_extend("force", position, { context = { triggerKind = 1 } })
  answers, err = vim.lsp.buf_request_sync(bufnr, "textDocument/inlineCompletion", inline_params, TIMEOUT_MS)
  answer = answers and answers[client_id] or {}
  emit("inline", { result = answer.result, error = answer.err or err })
end

local ok, failure = xpcall(main, debug.traceback)
if not ok then
  emit("error", { message = tostring(failure) })
end
if client ~= nil then
  client:stop()
  if not vim.wait(10000, function() return client:is_stopped() end, 50) then
    client:stop(true)
    vim.wait(5000, function() return client:is_stopped() end, 50)
  end
end
if ok then
  vim.cmd("qa!")
else
  vim.cmd("cq! 1")
end
