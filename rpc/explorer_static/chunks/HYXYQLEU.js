import{a as o,b as e}from"./PYXOMBK4.js";import"./RNPJADOP.js";import"./ZM2XUYVT.js";export{o as InfoModule,e as createInfoServices};
