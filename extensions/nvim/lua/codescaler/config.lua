-- Options of require("codescaler").setup(): defaults, merging and checks.

local M = {}

---@class codescaler.Keymaps
---@field accept string|false        accept the whole suggestion (falls back to the key's own meaning)
---@field accept_word string|false   accept the suggestion's next word
---@field accept_line string|false   accept the suggestion's next line
---@field next string|false          next ranked suggestion (asks for more when only one was shown)
---@field prev string|false          previous ranked suggestion
---@field dismiss string|false       hide the suggestion (falls back to the key's own meaning)
---@field trigger string|false       ask for suggestions now (several, to cycle through)

M.defaults = {
  -- The server command; nil: { "codescaler", "lsp" } from $PATH.
  cmd = nil,
  -- Shorthands for settings.models.{policy, reward_model, engine}.
  policy = nil,
  reward_model = nil,
  engine = nil,
  -- A file holding the engine token (`codescaler serve` on a GPU host). Read when the server starts
  -- and handed to it in its environment (CODESCALER_ENGINE_TOKEN), never on its command line.
  token_file = nil,
  -- The server's settings, same sections as its config file: models, completion, server, languages.
  settings = {},
  -- Filetypes to attach to (the server syntax-checks these; others are completed unchecked).
  filetypes = {
    "python",
    "javascript",
    "javascriptreact",
    "typescript",
    "typescriptreact",
    "go",
    "rust",
    "java",
    "cpp",
  },
  -- Where a project starts; one server serves all projects unless single_server = false.
  root_markers = { ".git", "pyproject.toml", "setup.py", "package.json", "go.mod", "Cargo.toml", "pom.xml" },
  single_server = true,
  -- Inline suggestions: "auto" (Neovim's own UI on 0.12+, this plugin's on 0.11), "plugin", "builtin",
  -- or false (none: completion menu only).
  inline = "auto",
  -- Ask for a suggestion as you type (else only on the trigger key or require("codescaler").trigger()).
  auto_trigger = true,
  debounce_ms = 100,
  -- Ranked items in Neovim's completion menu (<C-x><C-o>, or as you type with autotrigger).
  completion = { enabled = true, autotrigger = false },
  keymaps = {
    accept = "<Tab>",
    accept_word = "<M-Right>",
    accept_line = "<M-C-Right>",
    next = "<M-]>",
    prev = "<M-[>",
    dismiss = "<C-]>",
    trigger = "<M-\\>",
  },
  -- vim.notify() on each change of the server's status (loading, ready, slow, error).
  notify = true,
}

local function check(name, value, kind, optional)
  if value == nil and optional then
    return
  end
  local ok = type(value) == kind
  if not ok then
    error(("codescaler: option %s must be a %s, not %s"):format(name, kind, type(value)), 0)
  end
end

--- The user's options over the defaults, checked.
---@param opts table?
---@return table
function M.resolve(opts)
  opts = opts or {}
  check("opts", opts, "table")
  local cfg = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  -- Lists are replaced, not merged index by index.
  for _, key in ipairs({ "filetypes", "root_markers", "cmd" }) do
    if opts[key] ~= nil then
      cfg[key] = vim.deepcopy(opts[key])
    end
  end
  check("cmd", cfg.cmd, "table", true)
  check("policy", cfg.policy, "string", true)
  check("reward_model", cfg.reward_model, "string", true)
  check("engine", cfg.engine, "string", true)
  check("token_file", cfg.token_file, "string", true)
  check("settings", cfg.settings, "table")
  check("filetypes", cfg.filetypes, "table")
  check("root_markers", cfg.root_markers, "table")
  check("debounce_ms", cfg.debounce_ms, "number")
  check("completion", cfg.completion, "table")
  check("keymaps", cfg.keymaps, "table")
  if not vim.tbl_contains({ "auto", "plugin", "builtin", false }, cfg.inline) then
    error('codescaler: option inline must be "auto", "plugin", "builtin" or false', 0)
  end
  local models = cfg.settings.models
  if models ~= nil and models.token ~= nil then
    error("codescaler: do not put the engine token in settings (it would travel in logs): use token_file", 0)
  end
  if models ~= nil and models.token_file ~= nil then -- the plugin reads it (see token_file above)
    cfg.token_file = cfg.token_file or models.token_file
    models.token_file = nil
  end
  for key, lhs in pairs(cfg.keymaps) do
    if lhs ~= false and type(lhs) ~= "string" then
      error(("codescaler: keymaps.%s must be a key (string) or false"):format(key), 0)
    end
  end
  return cfg
end

--- `settings` without empty sections, and an empty one as vim.empty_dict(): Neovim encodes an empty Lua
--- table as a JSON array, which the server rejects where it expects an object.
---@param settings table
---@return table
function M.compact(settings)
  local result = {}
  for section, values in pairs(settings) do
    if type(values) ~= "table" or next(values) ~= nil then
      result[section] = values
    end
  end
  return next(result) ~= nil and result or vim.empty_dict()
end

--- The settings sent to the server (initializationOptions and workspace/didChangeConfiguration).
---@param cfg table
---@return table
function M.server_settings(cfg)
  local settings = vim.deepcopy(cfg.settings)
  local models = settings.models or {}
  models.policy = cfg.policy or models.policy
  models.reward_model = cfg.reward_model or models.reward_model
  models.engine = cfg.engine or models.engine
  settings.models = models
  return M.compact(settings)
end

return M
