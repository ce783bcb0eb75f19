-- codescaler for Neovim: AI code completions ranked by a reward model, from `codescaler lsp`.
--
--   require("codescaler").setup({ policy = "...", reward_model = "..." })
--
-- Starts the language server (one for all buffers of the configured filetypes), feeds its ranked items
-- to Neovim's completion (omnifunc / vim.lsp.completion) and shows inline suggestions as ghost text:
-- Neovim's own UI on 0.12+ (vim.lsp.inline_completion), the plugin's (lua/codescaler/inline.lua) on
-- 0.11. See :help codescaler.

local api = vim.api
local config = require("codescaler.config")
local inline = require("codescaler.inline")

local M = {}

local NAME = "codescaler"
local STATUS_METHOD = "codescaler/status"
local STATS_METHOD = "codescaler/stats"

local cfg = nil ---@type table?
local enabled = true
local group = nil ---@type integer?
---@type table<integer, {state: string, message: string}>
local statuses = {}
local warned = {}

local function notify(message, level)
  vim.notify("codescaler: " .. message, level or vim.log.levels.INFO, { title = "codescaler" })
end

local function notify_once(key, message, level)
  if not warned[key] then
    warned[key] = true
    notify(message, level)
  end
end

--- Which inline UI runs: "builtin" (Neovim 0.12+), "plugin", or nil (none).
function M.inline_backend()
  if not cfg or cfg.inline == false then
    return nil
  end
  local builtin = vim.lsp.inline_completion ~= nil
    and vim.lsp.inline_completion.enable ~= nil
    and vim.lsp.inline_completion.get ~= nil
  if cfg.inline == "builtin" or (cfg.inline == "auto" and builtin) then
    if builtin then
      return "builtin"
    end
    notify_once("no-builtin", "this Neovim has no vim.lsp.inline_completion (0.12+): using the plugin's UI")
  end
  return "plugin"
end

-- Server command and environment -------------------------------------------------------------------

--- The engine token from `token_file`, or nil (and a message) when it cannot be read.
local function read_token(path)
  path = vim.fs.normalize(path)
  local stat = vim.uv.fs_stat(path)
  local file = stat and io.open(path, "r")
  if not file then
    notify_once("token:" .. path, ("cannot read token_file %s"):format(path), vim.log.levels.ERROR)
    return nil
  end
  local token = vim.trim(file:read("*a") or "")
  file:close()
  if token == "" then
    notify_once("token:" .. path, ("token_file %s is empty"):format(path), vim.log.levels.ERROR)
    return nil
  end
  if bit.band(stat.mode, tonumber("077", 8)) ~= 0 then
    notify_once(
      "token-mode:" .. path,
      ("token_file %s is readable by other users (chmod 600 it)"):format(path),
      vim.log.levels.WARN
    )
  end
  return token
end

local function server_cmd()
  return cfg.cmd and vim.deepcopy(cfg.cmd) or { "codescaler", "lsp" }
end

local function server_env()
  -- The token goes in the server's environment (CODESCALER_ENGINE_TOKEN, which `codescaler lsp` reads
  -- like its --token flag): not in its command line (`ps` shows that to every user) and not in the LSP
  -- settings (clients log those).
  if cfg.token_file then
    local token = read_token(cfg.token_file)
    if token then
      return { CODESCALER_ENGINE_TOKEN = token }
    end
  end
  return nil
end

-- Status ---------------------------------------------------------------------------------------------

local LEVELS = {
  error = vim.log.levels.ERROR,
  slow = vim.log.levels.WARN,
}

local function on_status(_, params, ctx)
  if type(params) ~= "table" or type(params.state) ~= "string" then
    return
  end
  local old = statuses[ctx.client_id]
  local new = { state = params.state, message = params.message or "" }
  if old and old.state == new.state and old.message == new.message then
    return
  end
  statuses[ctx.client_id] = new
  if cfg and cfg.notify then
    local text = new.state .. (new.message ~= "" and (": " .. new.message) or "")
    notify(text, LEVELS[new.state] or vim.log.levels.INFO)
  end
  api.nvim_exec_autocmds("User", { pattern = "CodescalerStatus", modeline = false, data = new })
  vim.cmd.redrawstatus({ bang = true, mods = { emsg_silent = true } })
end

local function client_for(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr or api.nvim_get_current_buf(), name = NAME })[1]
end

--- The server's status for `bufnr`: { state = "loading"|"ready"|"slow"|"error"|"off"|"starting",
--- message = ..., client_id = ... }, or nil when no codescaler server serves that buffer.
function M.status_info(bufnr)
  local client = client_for(bufnr)
  if not client then
    return nil
  end
  local status = statuses[client.id] or { state = "starting", message = "" }
  local state = enabled and status.state or "off"
  return { state = state, message = status.message, client_id = client.id }
end

--- A short status for statuslines: "codescaler: ready", "codescaler: off", ... ("" without a server).
function M.status(bufnr)
  local info = M.status_info(bufnr)
  return info and ("codescaler: " .. info.state) or ""
end

-- Keymaps --------------------------------------------------------------------------------------------

--- What the key did before the plugin mapped it (a global insert-mode mapping, or the key itself).
local function fallback_for(lhs)
  local previous = vim.fn.maparg(lhs, "i", false, true)
  local keys = vim.keycode(lhs)
  if type(previous) ~= "table" or vim.tbl_isempty(previous) or previous.buffer == 1 then
    return function()
      api.nvim_feedkeys(keys, "ni", false)
    end
  end
  local mode = previous.noremap == 1 and "ni" or "mi"
  return function()
    local rhs = previous.rhs
    if previous.callback then
      rhs = previous.callback()
      if previous.expr ~= 1 then
        return
      end
    elseif previous.expr == 1 then
      rhs = vim.fn.eval(rhs)
    end
    if type(rhs) == "string" and rhs ~= "" then
      api.nvim_feedkeys(vim.keycode(rhs), mode, false)
    end
  end
end

local function builtin_showing(bufnr)
  local ns = api.nvim_get_namespaces()["nvim.lsp.inline_completion"]
  return ns ~= nil and #api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { limit = 1 }) > 0
end

local function builtin_dismiss(bufnr)
  -- 0.12 has no dismiss function: disabling and enabling again for the buffer clears the suggestion.
  vim.lsp.inline_completion.enable(false, { bufnr = bufnr })
  vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
end

--- Accept the suggestion showing in the current buffer; false when none is showing.
function M.accept(part)
  local bufnr = api.nvim_get_current_buf()
  if M.inline_backend() == "builtin" then
    return part == nil and vim.lsp.inline_completion.get({ bufnr = bufnr }) == true
  end
  return inline.accept(bufnr, part)
end

--- Show the next / previous ranked suggestion.
function M.next()
  if M.inline_backend() == "builtin" then
    vim.lsp.inline_completion.select({ count = 1 })
  else
    inline.cycle(api.nvim_get_current_buf(), 1)
  end
end

function M.prev()
  if M.inline_backend() == "builtin" then
    vim.lsp.inline_completion.select({ count = -1 })
  else
    inline.cycle(api.nvim_get_current_buf(), -1)
  end
end

--- Hide the suggestion; false when none was showing.
function M.dismiss()
  local bufnr = api.nvim_get_current_buf()
  if M.inline_backend() == "builtin" then
    local showing = builtin_showing(bufnr)
    builtin_dismiss(bufnr)
    return showing
  end
  return inline.dismiss(bufnr)
end

--- A suggestion is showing in the current buffer.
function M.visible()
  local bufnr = api.nvim_get_current_buf()
  if M.inline_backend() == "builtin" then
    return builtin_showing(bufnr)
  end
  return inline.visible(bufnr)
end

--- Ask for suggestions at the cursor now (several ranked ones to cycle through).
function M.trigger()
  if not enabled then
    notify("off (:CodescalerToggle turns it on)")
    return
  end
  if M.inline_backend() == "builtin" then
    notify_once("builtin-trigger", "Neovim's own inline UI asks by itself as you type (no trigger key)")
    return
  end
  inline.trigger(api.nvim_get_current_buf())
end

local ACTIONS = {
  accept = { desc = "accept suggestion", run = M.accept, fallback = true },
  accept_word = {
    desc = "accept next word of suggestion",
    run = function()
      return M.accept("word")
    end,
    fallback = true,
  },
  accept_line = {
    desc = "accept next line of suggestion",
    run = function()
      return M.accept("line")
    end,
    fallback = true,
  },
  next = { desc = "next suggestion", run = M.next },
  prev = { desc = "previous suggestion", run = M.prev },
  dismiss = { desc = "dismiss suggestion", run = M.dismiss, fallback = true },
  trigger = { desc = "ask for suggestions", run = M.trigger },
}

local function set_keymaps(bufnr)
  for action, lhs in pairs(cfg.keymaps) do
    local spec = ACTIONS[action]
    if lhs and spec then
      local fallback = spec.fallback and fallback_for(lhs)
      vim.keymap.set("i", lhs, function()
        if not fallback then
          spec.run()
        elseif not (M.visible() and spec.run() ~= false) then
          fallback() -- keys with a meaning of their own (Tab, ...) keep it when nothing is showing
        end
      end, { buffer = bufnr, desc = "codescaler: " .. spec.desc })
    end
  end
end

local function del_keymaps(bufnr)
  for action, lhs in pairs(cfg and cfg.keymaps or {}) do
    if lhs and ACTIONS[action] then
      pcall(vim.keymap.del, "i", lhs, { buffer = bufnr })
    end
  end
end

-- Attaching ------------------------------------------------------------------------------------------

-- Completion menu ------------------------------------------------------------------------------------

local ACCEPT_COMMAND = "codescaler.accepted"

local function is_ours(item)
  return type(item) == "table" and type(item.command) == "table" and item.command.command == ACCEPT_COMMAND
end

--- Neovim's completion inserts an item's text up to its first blank (a "word"): codescaler's items are
--- whole suggestions, so their word is their whole first line (the other lines follow on CompleteDone).
--- Items of other servers in the same buffer are left as they are.
local function convert(item)
  if is_ours(item) and item.textEdit and type(item.textEdit.newText) == "string" then
    return { word = item.textEdit.newText:match("^[^\n]*") }
  end
  return {}
end

local function on_complete_done(bufnr)
  local completed = vim.v.completed_item
  local item = vim.tbl_get(completed or {}, "user_data", "nvim", "lsp", "completion_item")
  if not is_ours(item) or vim.v.event.reason ~= "accept" or not item.textEdit then
    return
  end
  local text, word = item.textEdit.newText, completed.word
  if #text > #word and vim.startswith(text, word) then
    local win = vim.fn.bufwinid(bufnr)
    local row, col = unpack(api.nvim_win_get_cursor(win))
    local lines = vim.split(text:sub(#word + 1), "\n", { plain = true })
    api.nvim_buf_set_text(bufnr, row - 1, col, row - 1, col, lines)
    api.nvim_win_set_cursor(win, { row + #lines - 1, (#lines == 1 and col or 0) + #lines[#lines] })
  end
end

--- Neovim 0.11 turns the floats inside a completed item (the reward in the command's arguments) into
--- {[vim.type_idx] = vim.types.float, [vim.val_idx] = x} tables that its JSON encoder rejects: undo that.
local function plain(value)
  if type(value) ~= "table" then
    return value
  end
  if value[vim.type_idx] == vim.types.float then
    return value[vim.val_idx]
  end
  local copy = {}
  for key, inner in pairs(value) do
    if key ~= vim.type_idx and key ~= vim.val_idx then
      copy[key] = plain(inner)
    end
  end
  return copy
end

--- The client-side handler of codescaler.accepted: sent on to the server as workspace/executeCommand.
local function accepted_command(command, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if client then
    local params = { command = command.command, arguments = plain(command.arguments) }
    client:request("workspace/executeCommand", params, function() end, ctx.bufnr)
  end
end

-- Attaching ------------------------------------------------------------------------------------------

local function on_attach(client, bufnr)
  if not cfg then
    return
  end
  if cfg.completion.enabled and vim.lsp.completion and vim.lsp.completion.enable then
    vim.lsp.completion.enable(true, client.id, bufnr, { autotrigger = cfg.completion.autotrigger, convert = convert })
    api.nvim_create_autocmd("CompleteDone", {
      group = api.nvim_create_augroup("codescaler.complete." .. bufnr, { clear = true }),
      buffer = bufnr,
      callback = function()
        on_complete_done(bufnr)
      end,
    })
  end
  local backend = M.inline_backend()
  if backend == "builtin" then
    vim.lsp.inline_completion.enable(enabled, { bufnr = bufnr, client_id = client.id })
  elseif backend == "plugin" then
    inline.attach(bufnr, client.id)
  end
  if backend then
    set_keymaps(bufnr)
  end
end

local function on_detach(bufnr, client_id)
  inline.detach(bufnr, client_id)
  local others = vim.tbl_filter(function(client)
    return client.id ~= client_id
  end, vim.lsp.get_clients({ bufnr = bufnr, name = NAME }))
  if #others == 0 then
    del_keymaps(bufnr)
  end
end

local function root_dir(bufnr)
  local root = vim.fs.root(bufnr, cfg.root_markers)
  if root then
    return root
  end
  local name = api.nvim_buf_get_name(bufnr)
  return name ~= "" and vim.fs.dirname(vim.fs.normalize(name)) or vim.uv.cwd()
end

local function wanted(bufnr)
  return cfg ~= nil
    and api.nvim_buf_is_valid(bufnr)
    and vim.bo[bufnr].buftype == ""
    and vim.tbl_contains(cfg.filetypes, vim.bo[bufnr].filetype)
end

--- Start (or reuse) the server for `bufnr`. Returns the client id.
function M.attach(bufnr)
  bufnr = bufnr or api.nvim_get_current_buf()
  if not wanted(bufnr) then
    return nil
  end
  local cmd = server_cmd()
  if vim.fn.executable(cmd[1]) ~= 1 then
    notify_once(
      "cmd:" .. cmd[1],
      ("%s not found: pip install codescaler, or set cmd = { '/path/to/codescaler', 'lsp' }"):format(cmd[1]),
      vim.log.levels.ERROR
    )
    return nil
  end
  local settings = config.server_settings(cfg)
  if not enabled then
    settings = vim.deepcopy(settings)
    settings.completion = vim.tbl_extend("force", settings.completion or {}, { enabled = false })
  end
  local client_config = {
    name = NAME,
    cmd = cmd,
    cmd_env = server_env(),
    root_dir = root_dir(bufnr),
    init_options = settings,
    -- answered to workspace/configuration and sent as workspace/didChangeConfiguration
    settings = { codescaler = settings },
    handlers = { [STATUS_METHOD] = on_status },
    commands = { [ACCEPT_COMMAND] = accepted_command },
    on_attach = on_attach,
  }
  local reuse = cfg.single_server
      and function(client, conf)
        return client.name == conf.name and not client:is_stopped()
      end
    or nil
  return vim.lsp.start(client_config, { bufnr = bufnr, reuse_client = reuse })
end

local function clients()
  return vim.lsp.get_clients({ name = NAME })
end

local function send_settings()
  for _, client in ipairs(clients()) do
    local settings = client.settings.codescaler or {}
    settings.completion = settings.completion or {}
    local user = (cfg.settings.completion or {}).enabled
    if not enabled then
      settings.completion.enabled = false
    elseif user == nil then
      settings.completion.enabled = true -- explicit: the initializationOptions may say false
    else
      settings.completion.enabled = user
    end
    client.settings.codescaler = settings
    client:notify("workspace/didChangeConfiguration", { settings = client.settings })
  end
end

-- Commands -------------------------------------------------------------------------------------------

--- Turn suggestions (inline and in the completion menu) off or on; returns the new state.
function M.toggle()
  enabled = not enabled
  inline.set_enabled(enabled)
  if M.inline_backend() == "builtin" then
    for _, client in ipairs(clients()) do
      for bufnr in pairs(client.attached_buffers) do
        vim.lsp.inline_completion.enable(enabled, { bufnr = bufnr, client_id = client.id })
      end
    end
  end
  send_settings()
  notify(enabled and "on" or "off")
  api.nvim_exec_autocmds("User", { pattern = "CodescalerStatus", modeline = false })
  return enabled
end

function M.enabled()
  return enabled
end

--- Stop the server(s) and start again for every buffer (rereads token_file); calls `done` after.
function M.restart(done)
  local old = clients()
  for _, client in ipairs(old) do
    statuses[client.id] = nil
    client:stop()
  end
  local waited = 0
  local function again()
    local running = vim.tbl_filter(function(client)
      return vim.lsp.get_client_by_id(client.id) ~= nil -- gone once it has exited and detached
    end, old)
    if #running > 0 and waited < 5000 then
      waited = waited + 50
      vim.defer_fn(again, 50)
      return
    end
    for _, client in ipairs(running) do
      client:stop(true)
    end
    for _, bufnr in ipairs(api.nvim_list_bufs()) do
      if api.nvim_buf_is_loaded(bufnr) then
        M.attach(bufnr)
      end
    end
    if done then
      done()
    end
  end
  again()
end

--- Print the status and the server's counters (codescaler/stats).
function M.show_status()
  local info = M.status_info()
  if not info then
    notify(("no server for this buffer (filetypes: %s)"):format(table.concat(cfg and cfg.filetypes or {}, ", ")))
    return
  end
  local client = assert(vim.lsp.get_client_by_id(info.client_id))
  client:request(STATS_METHOD, vim.empty_dict(), function(err, stats)
    local lines = {
      ("%s%s"):format(info.state, info.message ~= "" and (": " .. info.message) or ""),
      ("inline UI: %s; server: %s"):format(M.inline_backend() or "none", table.concat(client.config.cmd, " ")),
    }
    if err then
      lines[#lines + 1] = "stats: " .. (err.message or vim.inspect(err))
    elseif type(stats) == "table" then
      lines[#lines + 1] = ("requests %d, answered %d, empty %d, failed %d, accepted %d, shown %d"):format(
        stats.requests or 0,
        stats.answered or 0,
        stats.empty or 0,
        stats.failed or 0,
        stats.accepted or 0,
        stats.shown or 0
      )
      local last = stats.last or {}
      if last.total_s then
        lines[#lines + 1] = ("last request %.0f ms (engine %.0f ms, cache %s)"):format(
          last.total_s * 1000,
          (last.engine_s or 0) * 1000,
          last.cache or "?"
        )
      end
    end
    notify(table.concat(lines, "\n"))
  end, api.nvim_get_current_buf())
end

local function create_commands()
  api.nvim_create_user_command("CodescalerStatus", M.show_status, { desc = "codescaler: status and counters" })
  api.nvim_create_user_command("CodescalerToggle", M.toggle, { desc = "codescaler: suggestions off/on" })
  api.nvim_create_user_command("CodescalerRestart", function()
    M.restart()
  end, { desc = "codescaler: restart the language server" })
end

--- Configure and start: see :help codescaler-setup.
---@param opts table?
function M.setup(opts)
  if vim.fn.has("nvim-0.11") ~= 1 then
    notify("needs Neovim 0.11 or newer", vim.log.levels.ERROR)
    return
  end
  cfg = config.resolve(opts)
  warned = {}
  inline.configure({ debounce_ms = cfg.debounce_ms, auto_trigger = cfg.auto_trigger })
  create_commands()
  group = api.nvim_create_augroup("codescaler", { clear = true })
  api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = cfg.filetypes,
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  api.nvim_create_autocmd("LspDetach", {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == NAME then
        on_detach(args.buf, client.id)
      end
    end,
  })
  -- Buffers opened before setup() ran (lazy loading).
  for _, bufnr in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(bufnr) then
      M.attach(bufnr)
    end
  end
end

--- The resolved options (nil before setup).
function M.config()
  return cfg
end

return M
