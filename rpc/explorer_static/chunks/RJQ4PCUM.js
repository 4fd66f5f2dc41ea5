import{a as e,b as r}from"./CSRKILNV.js";import"./RNPJADOP.js";import"./ZM2XUYVT.js";export{e as TreeViewModule,r as createTreeViewServices};
