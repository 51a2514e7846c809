# SPDX-License-Identifier: MIT
# The web view (README "The web view"): the files in ui/ are embedded into fleetd at build time.
# tools/ui-embed.sh turns them into one generated C file, compiled into the API's archive, so
# fleetd serves /ui/ with no files on disk and no build tool chain (od, sed, sha1sum only).

UI_FILES := $(sort $(wildcard ui/*.html ui/*.css ui/*.js ui/*.svg ui/*.png))
UI_GEN_C := $(BUILD)/gen/ui-data.c
UI_GEN_OBJ := $(BUILD)/gen/ui-data.o

$(UI_GEN_C): $(UI_FILES) tools/ui-embed.sh mk/ui.mk
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)tools/ui-embed.sh $(UI_FILES) >$@.tmp && mv $@.tmp $@

$(UI_GEN_OBJ): $(UI_GEN_C)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASE_CFLAGS) $(INC_api) -c -o $@ $<

$(LIBAPI): $(UI_GEN_OBJ)
