// The disagreement page: typing an edited span chooses "Edit the span", so the offsets a PI has
// just typed are never ignored because another decision was still ticked.

const form = document.getElementById("resolve-form");
const edit = document.getElementById("decision-edit");

if (form && edit) {
  form.addEventListener("input", (event) => {
    if (event.target.name === "start" || event.target.name === "end") {
      edit.checked = true;
    }
  });
}
